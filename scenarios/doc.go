// Package scenarios loads, validates and renders Keiko's markdown scenarios.
package scenarios
