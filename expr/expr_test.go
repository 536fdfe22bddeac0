package expr

import (
	"context"
	"strings"
	"testing"
)

var deployment = map[string]any{
	"metadata": map[string]any{"name": "web", "labels": map[string]any{"app": "web"}},
	"spec":     map[string]any{"replicas": int64(3)},
	"status":   map[string]any{"readyReplicas": int64(1)},
}

func TestBool(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		vars      Vars
		want      bool
		wantErr   string
	}{
		{"field compare", "object.status.readyReplicas >= object.spec.replicas", Vars{Object: deployment}, false, ""},
		{"met", "object.spec.replicas == 3", Vars{Object: deployment}, true, ""},
		{"absent object is null", "object == null", Vars{}, true, ""},
		{"missing field errs, so fails", "object.status.availableReplicas > 0", Vars{Object: deployment}, false, "no such key"},
		{"optional field", "object.?status.availableReplicas.orValue(0) == 0", Vars{Object: deployment}, true, ""},
		{"objects", "objects.size() == 2 && objects.all(o, o.metadata.name.startsWith('web'))",
			Vars{Objects: []any{deployment, deployment}}, true, ""},
		{"empty objects", "objects.exists(o, true)", Vars{}, false, ""},
		{"namespace", "ns == 'keiko-abc'", Vars{Namespace: "keiko-abc"}, true, ""},
		{"strings ext", "object.metadata.name.upperAscii() == 'WEB'", Vars{Object: deployment}, true, ""},
		{"quantities compare as the scheduler does", "quantity('500m').isLessThan(quantity('1')) && quantity('1Gi').compareTo(quantity('1024Mi')) == 0", Vars{}, true, ""},
		{"quantity of a field", "quantity(object.cpu).asApproximateFloat() == 0.25", Vars{Object: map[string]any{"cpu": "250m"}}, true, ""},
		{"list sums", "[1, 2, 3].sum() == 6 && [3, 1].min() == 1", Vars{}, true, ""},
		{"not a quantity", "isQuantity('lots')", Vars{}, false, ""},
		{"urls", "url('http://hello.keiko-abc.example.com').getHost() == 'hello.keiko-abc.example.com'", Vars{}, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Compile(tc.src, Bool)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Bool(context.Background(), tc.vars)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		src  string
		kind Kind
		want string
	}{
		{"object.status.", Bool, "Syntax error"},
		{"objects.size()", Bool, "gives int, want bool"},
		{"'a' + 1", String, "no matching overload"},
		{"undeclared > 1", Bool, "undeclared reference"},
		{"true", String, "gives bool, want string"},
	} {
		_, err := Compile(tc.src, tc.kind)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Compile(%q) err = %v, want %q", tc.src, err, tc.want)
		}
	}
}

func TestString(t *testing.T) {
	p, err := Compile("'deployment web has ' + string(object.?status.readyReplicas.orValue(0)) + ' ready replicas, ' + string(object.spec.replicas) + ' wanted'", String)
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.String(context.Background(), Vars{Object: deployment})
	if err != nil {
		t.Fatal(err)
	}
	if want := "deployment web has 1 ready replicas, 3 wanted"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestCostLimitStopsRunawayExpressions(t *testing.T) {
	objs := make([]any, 2000)
	for i := range objs {
		objs[i] = deployment
	}
	p, err := Compile("objects.all(a, objects.all(b, a.metadata.name == b.metadata.name))", Bool)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Bool(context.Background(), Vars{Objects: objs}); err == nil || !strings.Contains(err.Error(), "cost limit") {
		t.Errorf("4 million comparisons: err = %v, want the cost limit", err)
	}
}
