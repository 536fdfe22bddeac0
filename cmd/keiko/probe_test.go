package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"k8s.io/client-go/rest"
)

func TestAPIProbe(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		wantErr bool
	}{
		{"ready", http.StatusOK, false},
		{"not ready", http.StatusInternalServerError, true},
		{"forbidden", http.StatusForbidden, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/readyz" {
					http.NotFound(w, r)
					return
				}
				w.WriteHeader(tt.status)
				w.Write([]byte("[-]etcd failed\nreadyz check failed"))
			}))
			defer ts.Close()

			p, err := newAPIProbe(&rest.Config{Host: ts.URL})
			if err != nil {
				t.Fatal(err)
			}
			err = p.Ready(context.Background())
			if gotErr := err != nil; gotErr != tt.wantErr {
				t.Errorf("Ready() = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestAPIProbeUnreachable(t *testing.T) {
	ts := httptest.NewServer(http.NotFoundHandler())
	url := ts.URL
	ts.Close()
	p, err := newAPIProbe(&rest.Config{Host: url})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Ready(context.Background()); err == nil {
		t.Errorf("Ready() on a closed server = nil, want an error")
	}
}
