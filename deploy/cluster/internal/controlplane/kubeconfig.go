package controlplane

import (
	"fmt"
	"os"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/keiko-lab/keiko/deploy/cluster/internal/pki"
)

// writeKubeconfig writes a kubeconfig for one of pki.Clients with the
// credentials embedded, so the file keeps working if it is copied out of the
// data directory by its owner (the admin kubeconfig is meant to be used).
func writeKubeconfig(path, server string, files pki.Files, client string) error {
	ca, err := os.ReadFile(files.CACert())
	if err != nil {
		return fmt.Errorf("read ca: %w", err)
	}
	cert, err := os.ReadFile(files.ClientCert(client))
	if err != nil {
		return fmt.Errorf("read %s certificate: %w", client, err)
	}
	key, err := os.ReadFile(files.ClientKey(client))
	if err != nil {
		return fmt.Errorf("read %s key: %w", client, err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["keiko"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	cfg.AuthInfos[client] = &clientcmdapi.AuthInfo{ClientCertificateData: cert, ClientKeyData: key}
	cfg.Contexts["keiko"] = &clientcmdapi.Context{Cluster: "keiko", AuthInfo: client, Namespace: "default"}
	cfg.CurrentContext = "keiko"
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return fmt.Errorf("encode kubeconfig %s: %w", path, err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return nil
}
