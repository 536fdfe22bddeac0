// Package sandbox provisions, expires and checks learners' isolated namespaces.
package sandbox
