package main

import "testing"

func TestTerminalMode(t *testing.T) {
	for _, c := range []struct {
		flag      string
		inCluster bool
		want      string
		wantErr   bool
	}{
		{"auto", true, terminalPod, false},
		{"auto", false, terminalLocal, false},
		{"", false, terminalLocal, false},
		{"local", true, terminalLocal, false},
		{"pod", false, terminalPod, false},
		{"pods", false, "", true},
	} {
		got, err := terminalMode(c.flag, c.inCluster)
		if got != c.want || (err != nil) != c.wantErr {
			t.Errorf("terminalMode(%q, %v) = %q, %v; want %q (error %v)", c.flag, c.inCluster, got, err, c.want, c.wantErr)
		}
	}
}
