// Command keiko serves hands-on Kubernetes labs in the browser.
package main

import (
	"errors"
	"fmt"
	"os"
)

// errSilent fails a command that has already reported why, such as
// validate listing problems.
var errSilent = errors.New("failed")

func main() {
	if err := newRootCmd().Execute(); err != nil {
		if !errors.Is(err, errSilent) {
			fmt.Fprintf(os.Stderr, "keiko: %v\n", err)
		}
		os.Exit(1)
	}
}
