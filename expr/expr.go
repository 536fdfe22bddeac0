// Package expr compiles and evaluates the CEL expressions of resource
// checks, in one environment shared by the scenario validator and the
// check engine, so that what validates is what runs.
package expr

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/ext"
	"k8s.io/apiserver/pkg/cel/library"
)

// The variables a check's expressions see. Kubernetes' own CEL (in
// validation rules and admission policies) names the object under test
// "object" too, so authors' habits carry over.
const (
	Object    = "object"  // the named object, or null when it does not exist
	Objects   = "objects" // every object the check selects
	Namespace = "ns"      // the learner's namespace ("namespace" is reserved in CEL)
)

// costLimit bounds one evaluation, so that a careless expression over a
// large list cannot stall the check engine; about a million list-element
// visits.
const costLimit = 1_000_000

var env = sync.OnceValues(func() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable(Object, cel.DynType),
		cel.Variable(Objects, cel.ListType(cel.DynType)),
		cel.Variable(Namespace, cel.StringType),
		cel.OptionalTypes(),
		ext.Strings(),
		ext.Sets(),
		ext.Lists(),
		ext.Math(),
		ext.Regex(),
		ext.TwoVarComprehensions(),
		// Kubernetes' own CEL libraries, as in its validation rules:
		// quantity('250m') compares CPU and memory the way the scheduler
		// does, and lists gain sum(), min() and max().
		library.Lists(),
		library.Quantity(),
		library.URLs(),
		library.IP(),
		library.CIDR(),
	)
})

// Program is a compiled expression.
type Program struct {
	prg cel.Program
}

// Kind is what an expression must produce.
type Kind int

// Kinds of expression: a check's condition, or its message.
const (
	Bool Kind = iota
	String
)

// Compile parses and type-checks src, which must produce kind. The error
// is CEL's own, with line and column within src.
func Compile(src string, kind Kind) (*Program, error) {
	e, err := env()
	if err != nil {
		return nil, fmt.Errorf("cel environment: %w", err)
	}
	ast, iss := e.Compile(src)
	if iss.Err() != nil {
		return nil, iss.Err()
	}
	want := map[Kind]*cel.Type{Bool: cel.BoolType, String: cel.StringType}[kind]
	if out := ast.OutputType(); !out.IsExactType(want) && !out.IsExactType(cel.DynType) {
		return nil, fmt.Errorf("expression gives %s, want %s", out, want)
	}
	prg, err := e.Program(ast, cel.CostLimit(costLimit), cel.InterruptCheckFrequency(100))
	if err != nil {
		return nil, err
	}
	return &Program{prg: prg}, nil
}

// Vars are an evaluation's inputs: decoded JSON, as in unstructured
// objects.
type Vars struct {
	Object    map[string]any // nil when absent
	Objects   []any
	Namespace string
}

func (v Vars) activation() map[string]any {
	var obj any = types.NullValue
	if v.Object != nil {
		obj = v.Object
	}
	objs := v.Objects
	if objs == nil {
		objs = []any{}
	}
	return map[string]any{Object: obj, Objects: objs, Namespace: v.Namespace}
}

// Bool evaluates a condition. An expression that fails at run time, for
// example on a field the object does not have yet, is false with the
// error, not a crash: a learner's half-made object is a normal state.
func (p *Program) Bool(ctx context.Context, v Vars) (bool, error) {
	out, _, err := p.prg.ContextEval(ctx, v.activation())
	if err != nil {
		return false, err
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("expression gave %v, not a bool", out.Type())
	}
	return b, nil
}

// String evaluates a message.
func (p *Program) String(ctx context.Context, v Vars) (string, error) {
	out, _, err := p.prg.ContextEval(ctx, v.activation())
	if err != nil {
		return "", err
	}
	s, ok := out.Value().(string)
	if !ok {
		return "", errors.New("message expression did not give a string")
	}
	return s, nil
}
