package pki

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestEnsureCreatesPrivateMaterial(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	created, err := Ensure(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !created {
		t.Fatal("Ensure on an empty dir reported nothing created")
	}
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != 0o700 {
		t.Errorf("pki dir mode = %o, want 700", got)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatal("no files written")
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != 0o600 {
			t.Errorf("%s mode = %o, want 600", e.Name(), got)
		}
	}
}

func TestEnsureIsStableAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	if _, err := Ensure(dir, time.Now()); err != nil {
		t.Fatal(err)
	}
	f := Files{Dir: dir}
	before, err := os.ReadFile(f.CAKey())
	if err != nil {
		t.Fatal(err)
	}
	created, err := Ensure(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if created {
		t.Error("second Ensure created material; a restart must reuse the CA")
	}
	after, err := os.ReadFile(f.CAKey())
	if err != nil {
		t.Fatal(err)
	}
	if string(before) != string(after) {
		t.Error("CA key changed across Ensure calls")
	}
}

func TestCertificatesChainAndIdentify(t *testing.T) {
	dir := t.TempDir()
	if _, err := Ensure(dir, time.Now()); err != nil {
		t.Fatal(err)
	}
	f := Files{Dir: dir}
	ca, err := Load(f.CACert(), f.CAKey())
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)

	serving, err := Load(f.ServingCert(), f.ServingKey())
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"127.0.0.1", "localhost", "kubernetes.default.svc"} {
		if _, err := serving.Cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: host}); err != nil {
			t.Errorf("serving cert for %s: %v", host, err)
		}
	}

	tests := []struct {
		client     string
		wantUser   string
		wantMaster bool
	}{
		{"admin", "keiko-admin", true},
		{"controller-manager", "system:kube-controller-manager", false},
		{"scheduler", "system:kube-scheduler", false},
	}
	for _, tt := range tests {
		t.Run(tt.client, func(t *testing.T) {
			p, err := Load(f.ClientCert(tt.client), f.ClientKey(tt.client))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
				t.Errorf("verify: %v", err)
			}
			if got := p.Cert.Subject.CommonName; got != tt.wantUser {
				t.Errorf("user = %q, want %q", got, tt.wantUser)
			}
			if got := slices.Contains(p.Cert.Subject.Organization, "system:masters"); got != tt.wantMaster {
				t.Errorf("in system:masters = %v, want %v", got, tt.wantMaster)
			}
		})
	}
}
