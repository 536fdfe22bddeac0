package main

import (
	"io/fs"
	"slices"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kwok/pkg/apis/internalversion"
	"sigs.k8s.io/kwok/pkg/config"

	"github.com/keiko-lab/keiko/deploy/cluster/internal/controlplane"
)

// The embedded tracks are checked here, without a cluster, for what would
// otherwise only show as a learner's "forbidden" or a stage that never
// runs: every CRD is namespaced and its rights aggregate into admin, and
// every stage names a kind that is built in or defined here.
func TestTracksAreConsistent(t *testing.T) {
	var crds []apiextensionsv1.CustomResourceDefinition
	var roles []rbacv1.ClusterRole
	eachDoc(t, sub(tracks, "crds"), func(file string, doc []byte) {
		var meta struct{ Kind string }
		if err := utilyaml.Unmarshal(doc, &meta); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		switch meta.Kind {
		case "CustomResourceDefinition":
			var crd apiextensionsv1.CustomResourceDefinition
			if err := utilyaml.UnmarshalStrict(doc, &crd); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			crds = append(crds, crd)
		case "ClusterRole":
			var r rbacv1.ClusterRole
			if err := utilyaml.UnmarshalStrict(doc, &r); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			roles = append(roles, r)
		default:
			t.Errorf("%s: a %s; only CustomResourceDefinitions and ClusterRoles belong here", file, meta.Kind)
		}
	})
	if len(crds) == 0 {
		t.Fatal("no CRDs embedded")
	}
	kinds := map[string]bool{}
	for _, crd := range crds {
		if crd.Spec.Scope != apiextensionsv1.NamespaceScoped {
			t.Errorf("CRD %s is %s: learners own only their namespace, so track APIs must be namespaced", crd.Name, crd.Spec.Scope)
		}
		for _, v := range crd.Spec.Versions {
			if v.Served {
				kinds[crd.Spec.Group+"/"+v.Name+"/"+crd.Spec.Names.Kind] = true
			}
			if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
				t.Errorf("CRD %s version %s has no schema", crd.Name, v.Name)
			}
		}
		if !granted(roles, crd.Spec.Group, crd.Spec.Names.Plural, "create") {
			t.Errorf("CRD %s: no ClusterRole aggregated into admin lets learners create %s", crd.Name, crd.Spec.Names.Plural)
		}
	}
	eachDoc(t, sub(tracks, "stages"), func(file string, doc []byte) {
		s, err := config.UnmarshalWithType[*internalversion.Stage](doc)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		ref := s.Spec.ResourceRef
		if ref.APIGroup != "v1" && !kinds[ref.APIGroup+"/"+ref.Kind] {
			t.Errorf("%s: stage %s is for %s %s, which no embedded CRD serves", file, s.Name, ref.APIGroup, ref.Kind)
		}
	})
}

func granted(roles []rbacv1.ClusterRole, group, resource, verb string) bool {
	for _, r := range roles {
		if r.Labels["rbac.authorization.k8s.io/aggregate-to-admin"] != "true" {
			continue
		}
		for _, rule := range r.Rules {
			if slices.Contains(rule.APIGroups, group) && slices.Contains(rule.Resources, resource) &&
				(slices.Contains(rule.Verbs, verb) || slices.Contains(rule.Verbs, "*")) {
				return true
			}
		}
	}
	return false
}

func eachDoc(t *testing.T, files fs.FS, f func(file string, doc []byte)) {
	t.Helper()
	err := controlplane.EachDocument(files, func(file string, doc []byte) error {
		f(file, doc)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
