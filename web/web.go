// Package web holds Keiko's templates and static assets, embedded with embed.FS.
package web

import "embed"

// Templates holds the html/template pages, at templates/<name>.html.
//
//go:embed templates/*.html
var Templates embed.FS

// Static holds the files served under /static/, at static/<name>. Nothing
// here may link to a CDN: Keiko must work on a laptop with no internet.
//
//go:embed static/*
var Static embed.FS
