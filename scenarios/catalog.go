package scenarios

import (
	"embed"
	"io/fs"
	"path"
	"slices"
	"strings"
)

//go:embed builtin
var builtin embed.FS

// Builtin is the scenarios that ship with Keiko.
func Builtin() fs.FS {
	sub, err := fs.Sub(builtin, "builtin")
	if err != nil {
		panic(err) // the directory is embedded above
	}
	return sub
}

// Catalog is every scenario found in some trees, loaded or broken.
type Catalog struct {
	Entries []*Entry
}

// LoadAll loads every scenario directory in each fsys: any directory with
// a scenario.yaml or a Killercoda index.json. A broken scenario is an
// entry with problems, never an error: one bad file must not take the
// others down.
func LoadAll(trees ...fs.FS) *Catalog {
	c := &Catalog{}
	seen := map[string]string{}
	for _, fsys := range trees {
		var dirs []string
		_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return nil
			}
			if strings.HasPrefix(d.Name(), ".") && p != "." {
				return fs.SkipDir
			}
			for _, marker := range []string{FileName, killercodaIndex} {
				if _, err := fs.Stat(fsys, path.Join(p, marker)); err == nil {
					dirs = append(dirs, p)
					return fs.SkipDir
				}
			}
			return nil
		})
		for _, d := range dirs {
			e := Load(fsys, d)
			if first, dup := seen[e.ID]; !dup {
				seen[e.ID] = d
			} else if e.Scenario != nil {
				e.Problems = append(e.Problems, Problem{File: path.Join(d, FileName), Message: "id " + e.ID + " is already used by " + first})
				e.Scenario = nil
			}
			c.Entries = append(c.Entries, e)
		}
	}
	slices.SortStableFunc(c.Entries, func(a, b *Entry) int { return strings.Compare(a.ID, b.ID) })
	return c
}

// Get returns the entry with the given id, or nil.
func (c *Catalog) Get(id string) *Entry {
	for _, e := range c.Entries {
		if e.ID == id {
			return e
		}
	}
	return nil
}
