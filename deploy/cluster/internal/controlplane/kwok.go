package controlplane

import (
	"context"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	nodefast "sigs.k8s.io/kwok/kustomize/stage/node/fast"
	nodeheartbeat "sigs.k8s.io/kwok/kustomize/stage/node/heartbeat-with-lease"
	podfast "sigs.k8s.io/kwok/kustomize/stage/pod/fast"
	"sigs.k8s.io/kwok/pkg/apis/internalversion"
	kwokclient "sigs.k8s.io/kwok/pkg/client/clientset/versioned"
	"sigs.k8s.io/kwok/pkg/config"
	"sigs.k8s.io/kwok/pkg/kwok/controllers"
	kwoklog "sigs.k8s.io/kwok/pkg/log"
	"sigs.k8s.io/kwok/pkg/utils/client"
)

// NodeName is the fake node ordinary pods are scheduled onto.
const NodeName = "kwok-node-0"

// FargateNodeName is a second fake node, labelled and tainted as EKS labels
// and taints its Fargate nodes, for the fargate track: only pods that
// select it and tolerate its taint land there.
const FargateNodeName = "fargate-ip-10-0-1-23.ap-northeast-1.compute.internal"

var nodes = []*corev1.Node{
	fakeNode(NodeName, map[string]string{"type": "kwok", "kubernetes.io/role": "agent", "node-role.kubernetes.io/agent": ""}, nil),
	fakeNode(FargateNodeName, map[string]string{
		"eks.amazonaws.com/compute-type": "fargate",
		"topology.kubernetes.io/region":  "ap-northeast-1",
		"topology.kubernetes.io/zone":    "ap-northeast-1a",
	}, []corev1.Taint{{Key: "eks.amazonaws.com/compute-type", Value: "fargate", Effect: corev1.TaintEffectNoSchedule}}),
}

// nodeAnnotation marks the nodes kwok simulates, so that a real kubelet
// joined later would never be touched by it.
const nodeAnnotation = "kwok.x-k8s.io/node"

// nodeCapacity leaves room for a room of 100 learners with several pods each;
// kwok pods use no real resources, so the numbers only feed the scheduler
// and ResourceQuota arithmetic.
var nodeCapacity = corev1.ResourceList{
	corev1.ResourceCPU:    resource.MustParse("1000"),
	corev1.ResourceMemory: resource.MustParse("4Ti"),
	corev1.ResourcePods:   resource.MustParse("2000"),
}

// runKwok runs kwok's controller in-process, configured directly rather than
// through its cobra command, which reads os.Args and registers global flags.
func runKwok(ctx context.Context, kubeconfig string, kubeletPort int, extra []*internalversion.Stage, logs io.Writer) error {
	ctx = kwoklog.NewContext(ctx, kwoklog.NewLogger(logs, kwoklog.LevelInfo))
	stages, err := defaultStages()
	if err != nil {
		return err
	}
	for _, s := range extra {
		stages[s.Spec.ResourceRef] = append(stages[s.Spec.ResourceRef], s)
	}
	cs, err := client.NewClientset("", kubeconfig)
	if err != nil {
		return fmt.Errorf("kwok clients: %w", err)
	}
	restConfig, err := cs.ToRESTConfig()
	if err != nil {
		return fmt.Errorf("kwok config: %w", err)
	}
	dynamicClient, err := cs.ToDynamicClient()
	if err != nil {
		return fmt.Errorf("kwok dynamic client: %w", err)
	}
	restMapper, err := cs.ToRESTMapper()
	if err != nil {
		return fmt.Errorf("kwok rest mapper: %w", err)
	}
	restClient, err := rest.RESTClientFor(restConfig)
	if err != nil {
		return fmt.Errorf("kwok rest client: %w", err)
	}
	typedClient, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		return fmt.Errorf("kwok typed client: %w", err)
	}
	kwokClient, err := kwokclient.NewForConfig(restConfig)
	if err != nil {
		return fmt.Errorf("kwok client: %w", err)
	}
	for _, n := range nodes {
		if err := ensureNode(ctx, typedClient, n); err != nil {
			return err
		}
		if err := advertiseKubelet(ctx, typedClient, n.Name, kubeletPort); err != nil {
			return err
		}
	}
	ctr, err := controllers.NewController(controllers.Config{
		Clock:                             clock.RealClock{},
		DynamicClient:                     dynamicClient,
		RESTClient:                        restClient,
		RESTMapper:                        restMapper,
		ImpersonatingDynamicClient:        cs.ToImpersonatingDynamicClient(),
		ImpersonatingTypedClient:          cs.ToImpersonatingTypedClient(),
		TypedClient:                       typedClient,
		TypedKwokClient:                   kwokClient,
		ManageNodesWithAnnotationSelector: nodeAnnotation + "=fake",
		CIDR:                              "10.0.0.1/16",
		NodeIP:                            "127.0.0.1", // where the apiserver finds the kubelet endpoint
		NodePort:                          kubeletPort,
		LocalStages:                       stages,
		PodPlayStageParallelism:           4,
		NodePlayStageParallelism:          4,
		NodeLeaseParallelism:              4,
		NodeLeaseDurationSeconds:          40,
		PodsOnNodeSyncParallelism:         4,
		ID:                                "keiko-kwok",
	})
	if err != nil {
		return fmt.Errorf("kwok controller: %w", err)
	}
	if err := ctr.Start(ctx); err != nil {
		return fmt.Errorf("start kwok: %w", err)
	}
	<-ctx.Done()
	return nil
}

// defaultStages are the stages kwokctl installs by default: nodes become
// Ready at once and keep a lease, pods become Ready at once, complete, and
// are removed when deleted.
func defaultStages() (map[internalversion.StageResourceRef][]*internalversion.Stage, error) {
	groups := map[internalversion.StageResourceRef][]*internalversion.Stage{}
	for _, raw := range []string{
		nodefast.DefaultNodeInit,
		nodeheartbeat.DefaultNodeHeartbeatWithLease,
		podfast.DefaultPodReady,
		podfast.DefaultPodComplete,
		podfast.DefaultPodDelete,
	} {
		s, err := config.UnmarshalWithType[*internalversion.Stage](raw)
		if err != nil {
			return nil, fmt.Errorf("kwok stage: %w", err)
		}
		groups[s.Spec.ResourceRef] = append(groups[s.Spec.ResourceRef], s)
	}
	return groups, nil
}

func fakeNode(name string, labels map[string]string, taints []corev1.Taint) *corev1.Node {
	l := map[string]string{
		"kubernetes.io/hostname": name,
		"kubernetes.io/os":       "linux",
		"kubernetes.io/arch":     "amd64",
	}
	for k, v := range labels {
		l[k] = v
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{nodeAnnotation: "fake"}, Labels: l},
		Spec:       corev1.NodeSpec{Taints: taints},
		Status:     corev1.NodeStatus{Capacity: nodeCapacity, Allocatable: nodeCapacity},
	}
}

func ensureNode(ctx context.Context, c kubernetes.Interface, node *corev1.Node) error {
	_, err := c.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("register node %s: %w", node.Name, err)
	}
	return nil
}

// ensureStorageClass makes kwok's volume class the default, so a learner's
// PersistentVolumeClaim binds as it would on a cloud cluster.
func ensureStorageClass(ctx context.Context, c kubernetes.Interface) error {
	sc := &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{
			Name:        "kwok-volume",
			Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"},
		},
		Provisioner:       "kwok.x-k8s.io/volume",
		ReclaimPolicy:     ptr(corev1.PersistentVolumeReclaimDelete),
		VolumeBindingMode: ptr(storagev1.VolumeBindingImmediate),
	}
	_, err := c.StorageV1().StorageClasses().Create(ctx, sc, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create storage class %s: %w", sc.Name, err)
	}
	return nil
}
