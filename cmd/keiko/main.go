// Command keiko serves hands-on Kubernetes labs in the browser.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintf(os.Stderr, "keiko: %v\n", err)
		os.Exit(1)
	}
}
