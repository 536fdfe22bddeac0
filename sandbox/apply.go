package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/keiko-lab/keiko"
)

// fieldManager names Keiko in server-side apply's managedFields, so a
// learner's `kubectl apply` of the same object shows who owns which field.
const fieldManager = "keiko"

// Decode splits YAML or JSON manifests (several documents allowed) into
// objects. Errors name the document, counted from 1.
func Decode(data []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for doc := 1; ; doc++ {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, fmt.Errorf("manifest document %d: %w", doc, err)
		}
		if len(m) == 0 {
			continue // an empty document between two ---
		}
		u := &unstructured.Unstructured{Object: m}
		if u.GetAPIVersion() == "" || u.GetKind() == "" || u.GetName() == "" {
			return nil, fmt.Errorf("manifest document %d: apiVersion, kind and metadata.name are required", doc)
		}
		objs = append(objs, u)
	}
}

// Apply server-side-applies manifests into namespace ns. Every object must
// be namespaced and either name no namespace or name ns: setup may shape
// the learner's own namespace and nothing else.
func (m *Manager) Apply(ctx context.Context, ns string, manifests []byte) error {
	objs, err := Decode(manifests)
	if err != nil {
		return keiko.Errorf(keiko.EINVALID, "Invalid setup: %v", err)
	}
	for _, o := range objs {
		mapping, err := m.mapping(o.GroupVersionKind())
		if err != nil {
			return err
		}
		if mapping.Scope.Name() != meta.RESTScopeNameNamespace {
			return keiko.Errorf(keiko.EINVALID, "Setup object %s %q is cluster-scoped; install it as a scenario prerequisite instead.", o.GetKind(), o.GetName())
		}
		if o.GetNamespace() != "" && o.GetNamespace() != ns {
			return keiko.Errorf(keiko.EINVALID, "Setup object %s %q names namespace %q; setup may only touch the learner's namespace.", o.GetKind(), o.GetName(), o.GetNamespace())
		}
		o.SetNamespace(ns)
		if err := m.apply(ctx, mapping.Resource, o); err != nil {
			return err
		}
	}
	return nil
}

// InstallPrerequisites applies the cluster-scoped objects scenarios need,
// with Keiko's rights: CustomResourceDefinitions, and ClusterRoles that
// aggregate rights on them into admin or edit so learners get them in
// their own namespace only. It waits until the CRDs are served.
func (m *Manager) InstallPrerequisites(ctx context.Context, manifests []byte) error {
	objs, err := Decode(manifests)
	if err != nil {
		return keiko.Errorf(keiko.EINVALID, "Invalid prerequisites: %v", err)
	}
	for _, o := range objs {
		gk := o.GroupVersionKind().GroupKind()
		if gk != crdKind && gk != clusterRoleKind {
			return keiko.Errorf(keiko.EINVALID, "Prerequisite %s %q is not a CustomResourceDefinition or ClusterRole.", o.GetKind(), o.GetName())
		}
	}
	return m.applyCluster(ctx, objs)
}

var (
	crdKind         = schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}
	clusterRoleKind = schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}
	crdResource     = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
)

// applyCluster applies cluster-scoped objects and waits for CRDs among
// them to be established, then forgets cached discovery so their kinds map.
func (m *Manager) applyCluster(ctx context.Context, objs []*unstructured.Unstructured) error {
	var crds []string
	for _, o := range objs {
		mapping, err := m.mapping(o.GroupVersionKind())
		if err != nil {
			return err
		}
		if err := m.apply(ctx, mapping.Resource, o); err != nil {
			return err
		}
		if o.GroupVersionKind().GroupKind() == crdKind {
			crds = append(crds, o.GetName())
		}
	}
	for _, name := range crds {
		if err := m.waitEstablished(ctx, name); err != nil {
			return err
		}
	}
	if len(crds) > 0 {
		m.mapper.Reset()
	}
	return nil
}

func (m *Manager) apply(ctx context.Context, gvr schema.GroupVersionResource, o *unstructured.Unstructured) error {
	var ri interface {
		Apply(context.Context, string, *unstructured.Unstructured, metav1.ApplyOptions, ...string) (*unstructured.Unstructured, error)
	} = m.dynamic.Resource(gvr)
	if ns := o.GetNamespace(); ns != "" {
		ri = m.dynamic.Resource(gvr).Namespace(ns)
	}
	_, err := ri.Apply(ctx, o.GetName(), o, metav1.ApplyOptions{FieldManager: fieldManager, Force: true})
	if err != nil {
		if apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) {
			return &keiko.Error{Code: keiko.EINVALID, Message: fmt.Sprintf("%s %q was rejected: %v", o.GetKind(), o.GetName(), err), Op: "sandbox.Apply", Err: err}
		}
		return m.apiError(fmt.Sprintf("apply %s %s", o.GetKind(), o.GetName()), err)
	}
	return nil
}

// mapping resolves a kind, refreshing discovery once in case a CRD was
// installed since it was cached.
func (m *Manager) mapping(gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	mapping, err := m.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		m.mapper.Reset()
		mapping, err = m.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if meta.IsNoMatchError(err) {
		return nil, keiko.Errorf(keiko.EINVALID, "The cluster has no kind %s in %s; is its CRD installed?", gvk.Kind, gvk.GroupVersion())
	}
	if err != nil {
		return nil, m.apiError("discover "+gvk.Kind, err)
	}
	return mapping, nil
}

func (m *Manager) waitEstablished(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err := wait.PollUntilContextCancel(ctx, 50*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		crd, err := m.dynamic.Resource(crdResource).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
		for _, c := range conds {
			if c, ok := c.(map[string]any); ok && c["type"] == "Established" && c["status"] == "True" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("CRD %s not established: %w", name, err)
	}
	return nil
}

// Missing returns the kinds among requires, written group/version/Kind
// ("v1/Pod" for the core group), that the cluster does not serve.
func (m *Manager) Missing(requires []string) ([]string, error) {
	var missing []string
	for _, k := range requires {
		i := strings.LastIndex(k, "/")
		if i < 0 {
			return nil, keiko.Errorf(keiko.EINVALID, "Required kind %q is not group/version/Kind.", k)
		}
		gv, err := schema.ParseGroupVersion(k[:i])
		if err != nil {
			return nil, keiko.Errorf(keiko.EINVALID, "Required kind %q: %v", k, err)
		}
		switch _, err := m.mapping(gv.WithKind(k[i+1:])); {
		case keiko.ErrorCode(err) == keiko.EINVALID: // no such kind
			missing = append(missing, k)
		case err != nil:
			return nil, err
		}
	}
	return missing, nil
}
