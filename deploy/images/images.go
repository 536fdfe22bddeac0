// Package images holds the Dockerfiles of Keiko's container images and the tests that keep them correct.
package images
