package keiko

import "testing"

func TestPassed(t *testing.T) {
	for _, tc := range []struct {
		name string
		rs   []CheckResult
		want bool
	}{
		{"no checks", nil, true},
		{"all passed", []CheckResult{{Passed: true}, {Passed: true}}, true},
		{"one failed", []CheckResult{{Passed: true}, {Message: "Scale web to 4."}}, false},
	} {
		if got := Passed(tc.rs); got != tc.want {
			t.Errorf("%s: Passed = %v, want %v", tc.name, got, tc.want)
		}
	}
}
