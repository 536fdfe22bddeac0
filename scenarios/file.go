package scenarios

import (
	"fmt"
	"maps"
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/keiko-lab/keiko"
)

// FileName is the scenario file in a scenario's directory.
const FileName = "scenario.yaml"

// File is scenario.yaml, as authors write it; docs/scenario-format.md
// describes each field.
type File struct {
	ID          string      `yaml:"id"`
	Languages   []string    `yaml:"languages,omitempty"`
	Title       Text        `yaml:"title"`
	Description Text        `yaml:"description,omitempty"`
	Track       string      `yaml:"track"`
	Level       string      `yaml:"level"`
	Duration    string      `yaml:"duration"`
	Tags        []string    `yaml:"tags,omitempty"`
	Requires    []string    `yaml:"requires,omitempty"`
	Sandbox     SandboxFile `yaml:"sandbox,omitempty"`
	Allow       AllowFile   `yaml:"allow,omitempty"`
	Setup       ActionFile  `yaml:"setup,omitempty"`
	Intro       string      `yaml:"intro,omitempty"`
	Finish      string      `yaml:"finish,omitempty"`
	Steps       []StepFile  `yaml:"steps"`
}

// SandboxFile is the sandbox a scenario asks for.
type SandboxFile struct {
	Size        string `yaml:"size,omitempty"`
	PodSecurity string `yaml:"podSecurity,omitempty"`
}

// AllowFile turns the player's shortcuts off; unset means allowed.
type AllowFile struct {
	Skip  *bool `yaml:"skip,omitempty"`
	Solve *bool `yaml:"solve,omitempty"`
}

// ActionFile is setup or a solve: manifest files applied into the
// learner's namespace, then a bash script run in the learner's
// environment.
type ActionFile struct {
	Manifests []string `yaml:"manifests,omitempty"`
	Script    string   `yaml:"script,omitempty"`
}

// StepFile is one step.
type StepFile struct {
	Title  Text        `yaml:"title"`
	Text   string      `yaml:"text"`
	Hint   Text        `yaml:"hint,omitempty"`
	Setup  ActionFile  `yaml:"setup,omitempty"`
	Solve  ActionFile  `yaml:"solve,omitempty"`
	Checks []CheckFile `yaml:"checks,omitempty"`
}

// CheckFile is one check: a resource check or a script check.
type CheckFile struct {
	Resource    string `yaml:"resource,omitempty"`
	Name        string `yaml:"name,omitempty"`
	Selector    string `yaml:"selector,omitempty"`
	Expr        string `yaml:"expr,omitempty"`
	Script      string `yaml:"script,omitempty"`
	Message     Text   `yaml:"message,omitempty"`
	MessageExpr Text   `yaml:"messageExpr,omitempty"`
	Timeout     string `yaml:"timeout,omitempty"`
}

// Text is a string in the default language, or a map from language to
// string.
type Text keiko.Text

// UnmarshalYAML accepts "title: Hello" as well as "title: {en: Hello}".
func (t *Text) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*t = Text{keiko.DefaultLanguage: n.Value}
		return nil
	case yaml.MappingNode:
		m := map[string]string{}
		if err := n.Decode(&m); err != nil {
			return err
		}
		*t = m
		return nil
	}
	return fmt.Errorf("line %d: want a string, or a map from language to string", n.Line)
}

// MarshalYAML writes a text in the default language alone as a plain
// string.
func (t Text) MarshalYAML() (any, error) {
	if len(t) == 1 && t[keiko.DefaultLanguage] != "" {
		return t[keiko.DefaultLanguage], nil
	}
	return map[string]string(t), nil
}

// languages lists t's languages, sorted.
func (t Text) languages() []string { return slices.Sorted(maps.Keys(t)) }
