package localcluster_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// socketInodes are the socket inodes open in process pid.
func socketInodes(t *testing.T, pid int) map[string]bool {
	t.Helper()
	fds, err := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
	if err != nil {
		t.Fatal(err)
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		target, err := os.Readlink(fd)
		if err != nil {
			continue // closed since the glob
		}
		if strings.HasPrefix(target, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]")] = true
		}
	}
	return inodes
}

// tcpListeners maps socket inode to "ip:port" for every listening TCP
// socket on the machine.
func tcpListeners(t *testing.T) map[string]string {
	t.Helper()
	const listen = "0A"
	out := map[string]string{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		for _, f := range procTable(t, table) {
			if len(f) < 10 || f[3] != listen {
				continue
			}
			out[f[9]] = decodeAddr(t, f[1])
		}
	}
	return out
}

// unixSockets lists the paths of unix sockets with the given inodes.
func unixSockets(t *testing.T, inodes map[string]bool) []string {
	t.Helper()
	var paths []string
	for _, f := range procTable(t, "/proc/net/unix") {
		if len(f) >= 8 && inodes[f[6]] {
			paths = append(paths, f[7])
		}
	}
	return paths
}

func procTable(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows [][]string
	s := bufio.NewScanner(f)
	s.Scan() // header
	for s.Scan() {
		rows = append(rows, strings.Fields(s.Text()))
	}
	return rows
}

// decodeAddr turns the kernel's hex "0100007F:1F90" into "127.0.0.1:8080".
func decodeAddr(t *testing.T, hexAddr string) string {
	t.Helper()
	ipHex, portHex, _ := strings.Cut(hexAddr, ":")
	port, err := strconv.ParseUint(portHex, 16, 16)
	if err != nil {
		t.Fatal(err)
	}
	raw := make([]byte, len(ipHex)/2)
	for i := range raw {
		b, err := strconv.ParseUint(ipHex[2*i:2*i+2], 16, 8)
		if err != nil {
			t.Fatal(err)
		}
		raw[i] = byte(b)
	}
	// The kernel prints each 32-bit word in host (little-endian) order.
	for i := 0; i+4 <= len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	ip := net.IP(raw)
	if v4 := ip.To4(); v4 != nil {
		ip = v4
	}
	return net.JoinHostPort(ip.String(), strconv.FormatUint(port, 10))
}

// processesInGroup lists live processes whose process group is pgid.
func processesInGroup(t *testing.T, pgid int) []int {
	t.Helper()
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, s := range stats {
		data, err := os.ReadFile(s)
		if err != nil {
			continue // exited since the glob
		}
		// Fields after the parenthesised command: state ppid pgrp ...
		rest := string(data[strings.LastIndexByte(string(data), ')')+1:])
		f := strings.Fields(rest)
		if len(f) < 3 {
			continue
		}
		if g, _ := strconv.Atoi(f[2]); g == pgid {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(s)))
			pids = append(pids, pid)
		}
	}
	return pids
}

func TestDecodeAddr(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0100007F:1F90", "127.0.0.1:8080"},
		{"00000000:0050", "0.0.0.0:80"},
		{"00000000000000000000000001000000:1F90", "[::1]:8080"},
		{"0000000000000000FFFF00000100007F:0016", "127.0.0.1:22"},
	}
	for _, tt := range tests {
		if got := decodeAddr(t, tt.in); got != tt.want {
			t.Errorf("decodeAddr(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
