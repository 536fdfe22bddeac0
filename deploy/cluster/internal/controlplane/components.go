package controlplane

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	cliflag "k8s.io/component-base/cli/flag"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	apiserveroptions "k8s.io/kubernetes/cmd/kube-apiserver/app/options"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	controllermanageroptions "k8s.io/kubernetes/cmd/kube-controller-manager/app/options"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	scheduleroptions "k8s.io/kubernetes/cmd/kube-scheduler/app/options"

	"github.com/keiko-lab/keiko/deploy/cluster/internal/pki"
)

// The components are configured through their own flag sets rather than
// hand-filled option structs: the flags are the stable, documented surface,
// and parsing them runs the same defaulting a real deployment gets.

func parse(sets cliflag.NamedFlagSets, args []string) error {
	fs := pflag.NewFlagSet("component", pflag.ContinueOnError)
	for _, s := range sets.FlagSets {
		fs.AddFlagSet(s)
	}
	return fs.Parse(args)
}

// serviceCIDR is fixed: nothing on the host routes it, and learners' kubectl
// output then looks like any kubeadm cluster's.
const serviceCIDR = "10.96.0.0/16"

func runAPIServer(ctx context.Context, p paths, port int, etcdURL string) error {
	f := pki.Files{Dir: p.pki}
	s := apiserveroptions.NewServerRunOptions()
	if err := parse(s.Flags(), []string{
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--tls-cert-file=" + f.ServingCert(),
		"--tls-private-key-file=" + f.ServingKey(),
		"--client-ca-file=" + f.CACert(),
		"--kubelet-client-certificate=" + f.ClientCert("apiserver-kubelet-client"),
		"--kubelet-client-key=" + f.ClientKey("apiserver-kubelet-client"),
		"--kubelet-certificate-authority=" + f.CACert(),
		"--kubelet-preferred-address-types=InternalIP",
		"--etcd-servers=" + etcdURL,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + f.ServiceAccountPub(),
		"--service-account-signing-key-file=" + f.ServiceAccountKey(),
		"--service-cluster-ip-range=" + serviceCIDR,
		"--authorization-mode=Node,RBAC",
		"--enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount,ResourceQuota,DefaultStorageClass,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,NodeRestriction",
		"--endpoint-reconciler-type=none",
		// Pod Security admission, not this switch, decides what learners may
		// run; real clusters allow privileged pods for system workloads.
		"--allow-privileged=true",
		"--profiling=false",
	}); err != nil {
		return fmt.Errorf("kube-apiserver flags: %w", err)
	}
	if err := s.GenericServerRunOptions.ComponentGlobalsRegistry.Set(); err != nil {
		return fmt.Errorf("kube-apiserver feature gates: %w", err)
	}
	// The apiserver's loopback client would otherwise log its own
	// deprecation warnings.
	rest.SetDefaultWarningHandler(rest.NoWarnings{})
	completed, err := s.Complete(ctx)
	if err != nil {
		return fmt.Errorf("kube-apiserver options: %w", err)
	}
	if errs := completed.Validate(); len(errs) != 0 {
		return fmt.Errorf("kube-apiserver options: %v", errs)
	}
	return apiserver.Run(ctx, completed)
}

func runControllerManager(ctx context.Context, p paths) error {
	f := pki.Files{Dir: p.pki}
	s, err := controllermanageroptions.NewKubeControllerManagerOptions()
	if err != nil {
		return fmt.Errorf("kube-controller-manager options: %w", err)
	}
	known, disabled, aliases := controllermanager.KnownControllers(), controllermanager.ControllersDisabledByDefault(), controllermanager.ControllerAliases()
	sets := s.Flags(known, disabled, aliases)
	s.ParsedFlags = &sets
	if err := parse(sets, []string{
		"--kubeconfig=" + p.kubeconfig("controller-manager"),
		"--use-service-account-credentials=true",
		"--root-ca-file=" + f.CACert(),
		"--service-account-private-key-file=" + f.ServiceAccountKey(),
		"--cluster-signing-cert-file=" + f.CACert(),
		"--cluster-signing-key-file=" + f.CAKey(),
		"--leader-elect=false",
		"--secure-port=0",
		// Keiko's own clients are fast; the default 20 QPS would make the
		// namespace and garbage collectors the bottleneck of a workshop.
		"--kube-api-qps=500",
		"--kube-api-burst=1000",
		// No pod network and no volumes to attach: these controllers would
		// only log errors about a fake node.
		"--controllers=*,-node-ipam-controller,-persistentvolume-attach-detach-controller",
	}); err != nil {
		return fmt.Errorf("kube-controller-manager flags: %w", err)
	}
	c, err := s.Config(ctx, known, disabled, aliases)
	if err != nil {
		return fmt.Errorf("kube-controller-manager config: %w", err)
	}
	return controllermanager.Run(ctx, c.Complete())
}

func runScheduler(ctx context.Context, p paths) error {
	o := scheduleroptions.NewOptions()
	if err := parse(*o.Flags, []string{
		"--kubeconfig=" + p.kubeconfig("scheduler"),
		"--leader-elect=false",
		"--secure-port=0",
	}); err != nil {
		return fmt.Errorf("kube-scheduler flags: %w", err)
	}
	cc, sched, err := scheduler.Setup(ctx, o)
	if err != nil {
		return fmt.Errorf("kube-scheduler setup: %w", err)
	}
	return scheduler.Run(ctx, cc, sched)
}
