package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary bytes through Load: it must not panic, and every
// error must name the file.
func FuzzLoad(f *testing.F) {
	f.Add(Example())
	f.Add([]byte(""))
	f.Add([]byte("theme: dark\npromethus: {url: http://x}\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("kubernetes:\n  environments:\n    - &e {name: dev}\n    - <<: *e\n      name: dev\n"))
	f.Add([]byte("serve:\n  idle_timeout: -1s\n  users: [{name: a, role: admin, keys: [x]}]\n"))
	f.Add([]byte("digitalocean:\n  token: {env: A, file: B}\n---\nx: 1\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Load(path)
		if err == nil {
			if c == nil || c.Path != path {
				t.Fatalf("Load returned %+v without an error", c)
			}
			return
		}
		if !strings.HasPrefix(err.Error(), path) {
			t.Fatalf("error does not start with the file name: %v", err)
		}
		var errs Errors
		if !errors.As(err, &errs) {
			t.Fatalf("error is %T, not Errors: %v", err, err)
		}
		for _, e := range errs {
			if e.File != path || e.Msg == "" {
				t.Fatalf("error without file or message: %#v", e)
			}
		}
	})
}
