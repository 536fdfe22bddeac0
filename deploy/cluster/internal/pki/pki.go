// Package pki creates and reloads the embedded cluster's certificates and keys.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// validity is long because a workshop machine may be reused for years and an
// expired embedded CA would brick the data directory for no security gain:
// the keys never leave a 0700 directory on one machine.
const validity = 10 * 365 * 24 * time.Hour

// Files are the paths of everything the control plane needs, all inside Dir.
type Files struct {
	Dir string
}

// Paths of the individual files.
func (f Files) CACert() string            { return filepath.Join(f.Dir, "ca.crt") }
func (f Files) CAKey() string             { return filepath.Join(f.Dir, "ca.key") }
func (f Files) ServingCert() string       { return filepath.Join(f.Dir, "apiserver.crt") }
func (f Files) ServingKey() string        { return filepath.Join(f.Dir, "apiserver.key") }
func (f Files) KubeletCert() string       { return filepath.Join(f.Dir, "kubelet.crt") }
func (f Files) KubeletKey() string        { return filepath.Join(f.Dir, "kubelet.key") }
func (f Files) ServiceAccountKey() string { return filepath.Join(f.Dir, "sa.key") }
func (f Files) ServiceAccountPub() string { return filepath.Join(f.Dir, "sa.pub") }
func (f Files) ClientCert(name string) string {
	return filepath.Join(f.Dir, name+".crt")
}
func (f Files) ClientKey(name string) string { return filepath.Join(f.Dir, name+".key") }

// Client is an identity a component authenticates with.
type Client struct {
	Name   string // file stem
	User   string // certificate CN, the Kubernetes user name
	Groups []string
}

// Clients are the identities of the embedded control plane. The controller
// manager and scheduler get their own users so that RBAC, audit and the
// learner-facing view of the cluster look like a real cluster's.
var Clients = []Client{
	{Name: "admin", User: "keiko-admin", Groups: []string{"system:masters"}},
	{Name: "controller-manager", User: "system:kube-controller-manager"},
	{Name: "scheduler", User: "system:kube-scheduler"},
	{Name: "kwok", User: "keiko-kwok", Groups: []string{"system:masters"}},
	{Name: "apiserver-kubelet-client", User: "kube-apiserver-kubelet-client", Groups: []string{"system:masters"}},
}

// Ensure creates whatever is missing in dir (0700) and leaves existing
// material alone, so a restart keeps the same CA and service-account key and
// every token and kubeconfig issued earlier stays valid. It reports whether
// anything was created.
func Ensure(dir string, now time.Time) (created bool, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("create pki dir: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return false, fmt.Errorf("restrict pki dir: %w", err)
	}
	f := Files{Dir: dir}

	var ca *Pair
	if exists(f.CACert()) && exists(f.CAKey()) {
		if ca, err = Load(f.CACert(), f.CAKey()); err != nil {
			return false, err
		}
	} else {
		if ca, err = newCA(now); err != nil {
			return false, err
		}
		if err := ca.Write(f.CACert(), f.CAKey()); err != nil {
			return false, err
		}
		created = true
	}

	servers := []struct {
		cert, key, cn string
		dns           []string
		ips           []net.IP
	}{
		{f.ServingCert(), f.ServingKey(), "kube-apiserver",
			[]string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
			[]net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.96.0.1")}},
		// The simulated node's kubelet endpoint, which the apiserver
		// verifies with --kubelet-certificate-authority.
		{f.KubeletCert(), f.KubeletKey(), "kubelet", nil, []net.IP{net.ParseIP("127.0.0.1")}},
	}
	for _, sv := range servers {
		if exists(sv.cert) && exists(sv.key) {
			continue
		}
		p, err := ca.issue(now, x509.ExtKeyUsageServerAuth, pkix.Name{CommonName: sv.cn}, sv.dns, sv.ips)
		if err != nil {
			return false, err
		}
		if err := p.Write(sv.cert, sv.key); err != nil {
			return false, err
		}
		created = true
	}

	for _, c := range Clients {
		if exists(f.ClientCert(c.Name)) && exists(f.ClientKey(c.Name)) {
			continue
		}
		p, err := ca.issue(now, x509.ExtKeyUsageClientAuth, pkix.Name{CommonName: c.User, Organization: c.Groups}, nil, nil)
		if err != nil {
			return false, err
		}
		if err := p.Write(f.ClientCert(c.Name), f.ClientKey(c.Name)); err != nil {
			return false, err
		}
		created = true
	}

	if !exists(f.ServiceAccountKey()) || !exists(f.ServiceAccountPub()) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return false, fmt.Errorf("generate service-account key: %w", err)
		}
		if err := writeKey(f.ServiceAccountKey(), key); err != nil {
			return false, err
		}
		der, err := x509.MarshalPKIXPublicKey(key.Public())
		if err != nil {
			return false, fmt.Errorf("marshal service-account public key: %w", err)
		}
		if err := writeFile(f.ServiceAccountPub(), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})); err != nil {
			return false, err
		}
		created = true
	}
	return created, nil
}

// Pair is a certificate and its private key.
type Pair struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

func newCA(now time.Time) (*Pair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate ca key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "keiko-cluster-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("self-sign ca: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse ca: %w", err)
	}
	return &Pair{Cert: cert, Key: key}, nil
}

func (ca *Pair) issue(now time.Time, usage x509.ExtKeyUsage, subject pkix.Name, dns []string, ips []net.IP) (*Pair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key for %s: %w", subject.CommonName, err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      subject,
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		DNSNames:     dns,
		IPAddresses:  ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, fmt.Errorf("sign certificate for %s: %w", subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse certificate for %s: %w", subject.CommonName, err)
	}
	return &Pair{Cert: cert, Key: key}, nil
}

// Write stores the pair as PEM files readable by the owner only.
func (p *Pair) Write(certPath, keyPath string) error {
	if err := writeKey(keyPath, p.Key); err != nil {
		return err
	}
	return writeFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.Cert.Raw}))
}

// Load reads a pair written by Write.
func Load(certPath, keyPath string) (*Pair, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("read certificate: %w", err)
	}
	block, _ := pem.Decode(certPEM)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM certificate", certPath)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", certPath, err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	block, _ = pem.Decode(keyPEM)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM key", keyPath)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: key cannot sign", keyPath)
	}
	return &Pair{Cert: cert, Key: signer}, nil
}

func writeKey(path string, key crypto.Signer) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("marshal key %s: %w", path, err)
	}
	return writeFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// writeFile writes through a temporary file so that a crash never leaves a
// truncated key that would stop the next start.
func writeFile(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, os.ErrNotExist)
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return n
}
