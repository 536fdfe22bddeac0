package controlplane

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/kwok/pkg/apis/internalversion"
	"sigs.k8s.io/kwok/pkg/config"
)

// Tracks are the APIs Keiko's built-in tracks teach (Knative, Argo, KServe,
// OLM...) and the kwok Stages that play their controllers, so a Knative
// Service becomes Ready with a URL on a cluster that runs no Knative.
type Tracks struct {
	// APIs holds *.yaml files of CustomResourceDefinitions and the
	// ClusterRoles that aggregate rights on them into admin, applied
	// before kwok starts: kwok resolves each stage's resource once, at start.
	APIs fs.FS
	// Stages holds *.yaml files of kwok Stages, added to kwok's own.
	Stages fs.FS
}

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// installAPIs applies every object in the APIs files with server-side apply,
// CRDs first, and waits until each CRD is established, so that the stages
// and a learner's first kubectl find their kinds. An object the apiserver
// rejects is reported through warn and left out, like a broken scenario:
// the tracks that need it show as unavailable, and the others still work.
//
// mapper must not have been used yet: it reads discovery on first use,
// which comes after the CRDs are established.
func installAPIs(ctx context.Context, rc *rest.Config, mapper meta.RESTMapper, apis fs.FS, warn func(string, ...any)) (int, error) {
	if apis == nil {
		return 0, nil
	}
	objs, err := readObjects(apis)
	if err != nil {
		return 0, err
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return 0, fmt.Errorf("dynamic client: %w", err)
	}
	crdKind := schema.GroupKind{Group: crdResource.Group, Kind: "CustomResourceDefinition"}
	var crds []string
	var others []*unstructured.Unstructured
	for _, o := range objs {
		if o.GroupVersionKind().GroupKind() != crdKind {
			others = append(others, o)
			continue
		}
		if err := applyObject(ctx, dyn.Resource(crdResource), o); err != nil {
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			warn("warning: %v", err)
			continue
		}
		crds = append(crds, o.GetName())
	}
	versions := map[string]bool{}
	for _, name := range crds {
		gvs, err := waitEstablished(ctx, dyn, name)
		if err != nil {
			return 0, err
		}
		for _, gv := range gvs {
			versions["apis/"+gv] = true
		}
	}
	if err := waitOpenAPI(ctx, rc, versions); err != nil {
		return 0, err
	}
	for _, o := range others {
		m, err := mapper.RESTMapping(o.GroupVersionKind().GroupKind(), o.GroupVersionKind().Version)
		if err != nil {
			err = fmt.Errorf("%s %s: %w", o.GetKind(), o.GetName(), err)
		} else {
			err = applyObject(ctx, dyn.Resource(m.Resource), o)
		}
		if err != nil {
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			warn("warning: %v", err)
		}
	}
	return len(crds), nil
}

func newMapper(rc *rest.Config) (*restmapper.DeferredDiscoveryRESTMapper, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("discovery client: %w", err)
	}
	return restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc)), nil
}

// applyObject applies cluster-scoped objects only: these files describe the
// cluster, never a learner's namespace.
func applyObject(ctx context.Context, ri dynamic.NamespaceableResourceInterface, o *unstructured.Unstructured) error {
	if o.GetNamespace() != "" {
		return fmt.Errorf("%s %s: track APIs must be cluster-scoped, not in namespace %s", o.GetKind(), o.GetName(), o.GetNamespace())
	}
	_, err := ri.Apply(ctx, o.GetName(), o, metav1.ApplyOptions{FieldManager: "keiko-cluster", Force: true})
	if err != nil {
		return fmt.Errorf("apply %s %s: %w", o.GetKind(), o.GetName(), err)
	}
	return nil
}

// waitEstablished returns the group/versions the CRD serves once it is
// established.
func waitEstablished(ctx context.Context, dyn dynamic.Interface, name string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		o, err := dyn.Resource(crdResource).Get(ctx, name, metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("CRD %s: %w", name, err)
		}
		if err == nil {
			conds, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
			for _, c := range conds {
				m, _ := c.(map[string]any)
				if m["type"] == "Established" && m["status"] == "True" {
					return servedVersions(o), nil
				}
				if m["type"] == "NamesAccepted" && m["status"] == "False" {
					return nil, fmt.Errorf("CRD %s: names not accepted: %v", name, m["message"])
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("CRD %s was not established within 30s", name)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func servedVersions(crd *unstructured.Unstructured) []string {
	group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	var out []string
	for _, v := range versions {
		if m, _ := v.(map[string]any); m["served"] == true {
			out = append(out, fmt.Sprint(group, "/", m["name"]))
		}
	}
	return out
}

// waitOpenAPI waits until the apiserver publishes the OpenAPI v3 document
// of every new group/version, which it does a moment after the CRD is
// established: kwok reads it to patch the kind's status, and refuses to
// start without it.
func waitOpenAPI(ctx context.Context, rc *rest.Config, paths map[string]bool) error {
	if len(paths) == 0 {
		return nil
	}
	dc, err := discovery.NewDiscoveryClientForConfig(rc)
	if err != nil {
		return fmt.Errorf("discovery client: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		published, err := dc.OpenAPIV3().Paths()
		missing := ""
		for p := range paths {
			if _, ok := published[p]; !ok {
				missing = p
			}
		}
		if err == nil && missing == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the apiserver did not publish the OpenAPI of %s within 30s (%v)", missing, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// trackStages parses every Stage in the Stages files.
func trackStages(stages fs.FS) ([]*internalversion.Stage, error) {
	if stages == nil {
		return nil, nil
	}
	var out []*internalversion.Stage
	err := EachDocument(stages, func(file string, doc []byte) error {
		s, err := config.UnmarshalWithType[*internalversion.Stage](doc)
		if err != nil {
			return fmt.Errorf("stage in %s: %w", file, err)
		}
		out = append(out, s)
		return nil
	})
	return out, err
}

func readObjects(files fs.FS) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	err := EachDocument(files, func(file string, doc []byte) error {
		o := &unstructured.Unstructured{}
		if err := utilyaml.Unmarshal(doc, &o.Object); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		if o.GetKind() == "" || o.GetName() == "" {
			return fmt.Errorf("%s: an object without kind or name", file)
		}
		out = append(out, o)
		return nil
	})
	return out, err
}

// EachDocument calls f for every non-empty YAML document of the *.yaml
// files at the top of files, in name order.
func EachDocument(files fs.FS, f func(file string, doc []byte) error) error {
	names, err := fs.Glob(files, "*.yaml")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		data, err := fs.ReadFile(files, name)
		if err != nil {
			return err
		}
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for {
			doc, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			var m map[string]any
			if err := utilyaml.Unmarshal(doc, &m); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if len(m) == 0 { // only comments
				continue
			}
			if err := f(name, doc); err != nil {
				return err
			}
		}
	}
	return nil
}

// servedStages drops, loudly, the stages for kinds the cluster does not
// serve: kwok would refuse to start at all for one such stage, taking every
// pod's simulation down with it. The build's tests keep the list whole.
func servedStages(mapper meta.RESTMapper, stages []*internalversion.Stage, say func(string, ...any)) ([]*internalversion.Stage, error) {
	var out []*internalversion.Stage
	for _, s := range stages {
		gv, err := schema.ParseGroupVersion(s.Spec.ResourceRef.APIGroup)
		if err != nil {
			return nil, fmt.Errorf("stage %s: %w", s.Name, err)
		}
		if _, err := mapper.RESTMapping(schema.GroupKind{Group: gv.Group, Kind: s.Spec.ResourceRef.Kind}, gv.Version); err != nil {
			say("warning: stage %s skipped: %s %s is not served (%v)", s.Name, s.Spec.ResourceRef.APIGroup, s.Spec.ResourceRef.Kind, err)
			continue
		}
		out = append(out, s)
	}
	return out, nil
}
