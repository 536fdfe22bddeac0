package main

import (
	"context"
	"fmt"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
)

// apiProbe checks a cluster Keiko did not start (from --kubeconfig or
// in-cluster) by asking its apiserver's /readyz. The embedded cluster
// answers for itself.
type apiProbe struct {
	client rest.Interface
}

func newAPIProbe(rc *rest.Config) (*apiProbe, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("create discovery client: %w", err)
	}
	return &apiProbe{client: dc.RESTClient()}, nil
}

// Ready returns nil when the apiserver's /readyz answers 200.
func (p *apiProbe) Ready(ctx context.Context) error {
	if err := p.client.Get().AbsPath("/readyz").Do(ctx).Error(); err != nil {
		return fmt.Errorf("apiserver /readyz: %w", err)
	}
	return nil
}
