// Package configs embeds herald's example workspace, which `herald init`
// writes out and `herald demo` runs.
package configs

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

//go:embed all:workspace
var files embed.FS

// ShopTomorrow is the example shop's feed a day later (feeds/shop.xml with a
// price drop, a restock and a new product), for herald demo.
//
//go:embed demo/shop-tomorrow.xml
var ShopTomorrow []byte

// Workspace is the example workspace: herald.yaml, campaigns/, feeds/ and
// audience.csv.
func Workspace() fs.FS {
	sub, err := fs.Sub(files, "workspace")
	if err != nil {
		panic(err) // embedded at build time
	}
	return sub
}

// WriteWorkspace copies the example workspace into dir, which must not hold
// a herald.yaml yet. It creates dir if needed.
func WriteWorkspace(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "herald.yaml")); err == nil {
		return fmt.Errorf("%s already holds a herald workspace (herald.yaml exists)", dir)
	}
	return fs.WalkDir(Workspace(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.FromSlash(path))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := fs.ReadFile(Workspace(), path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
}
