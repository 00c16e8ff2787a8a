package rules

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/aymanbagabas/go-udiff"
	"go.yaml.in/yaml/v3"
)

// header opens every file vigil writes.
const header = "# Alerting rules vigil owns (prometheus.rule_files in its config): written by vigil,\n# re-read before each change; edits by hand are kept as long as the file parses.\n"

// Snapshot is a rule file as read: its content, the hash a save carries
// to detect a change made meanwhile, and its groups.
type Snapshot struct {
	File    string
	Content []byte
	Hash    string
	Groups  RuleFile
}

// Hash is the hash of a rule file's content (sha256, hex).
func Hash(content []byte) string {
	sum := sha256.Sum256(content)
	return hex.EncodeToString(sum[:])
}

// Rules lists the alerting rules of the snapshot.
func (s *Snapshot) Rules() []Owned {
	var out []Owned
	for _, g := range s.Groups.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				out = append(out, Owned{File: s.File, Group: g.Name, Rule: r})
			}
		}
	}
	return out
}

// Find returns the alerting rule called name.
func (s *Snapshot) Find(name string) (Owned, bool) {
	for _, o := range s.Rules() {
		if o.Rule.Alert == name {
			return o, true
		}
	}
	return Owned{}, false
}

// readFile reads and parses file; a missing file reads as empty. A file
// that does not parse returns its snapshot with the error.
func readFile(p Parser, file string) (*Snapshot, error) {
	b, err := os.ReadFile(file)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	s := &Snapshot{File: file, Content: b, Hash: Hash(b)}
	g, err := parse(p, file, b)
	if err != nil {
		return s, err
	}
	s.Groups = *g
	return s, nil
}

// parse validates content with Prometheus's own rule parser, as
// Prometheus does when it loads the file, then reads it.
func parse(p Parser, file string, content []byte) (*RuleFile, error) {
	if len(bytes.TrimSpace(content)) == 0 {
		return &RuleFile{}, nil
	}
	if errs := p.ParseRules(content); len(errs) > 0 {
		return nil, &ParseError{File: file, Errs: errs}
	}
	var f RuleFile
	if err := yaml.Unmarshal(content, &f); err != nil {
		return nil, &ParseError{File: file, Errs: []error{err}}
	}
	return &f, nil
}

// render is the file for groups, groups without rules dropped.
func render(groups RuleFile) ([]byte, error) {
	kept := RuleFile{Groups: []Group{}}
	for _, g := range groups.Groups {
		if len(g.Rules) > 0 {
			kept.Groups = append(kept.Groups, g)
		}
	}
	var b bytes.Buffer
	b.WriteString(header)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(kept); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// diff is the unified diff from old to new of file.
func diff(file string, old, new []byte) string {
	name := filepath.Base(file)
	return udiff.Unified(name+" (before)", name+" (after)", string(old), string(new))
}

// writeFile replaces file's content atomically (a temporary file renamed
// over it), keeping its mode.
func writeFile(file string, content []byte) error {
	mode := os.FileMode(0o644)
	if info, err := os.Stat(file); err == nil {
		mode = info.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(content); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), file)
}

// lockDir locks file's directory exclusively (flock) until unlock: the
// read, compare, write and reload of one change are one step for every
// vigil process of this host, and no lock file is left behind.
func lockDir(file string) (unlock func(), err error) {
	d, err := os.Open(filepath.Dir(file))
	if err != nil {
		return nil, err
	}
	rc, err := d.SyscallConn()
	if err != nil {
		d.Close()
		return nil, err
	}
	var ferr error
	if cerr := rc.Control(func(fd uintptr) {
		for ferr = syscall.EINTR; ferr == syscall.EINTR; {
			ferr = syscall.Flock(int(fd), syscall.LOCK_EX)
		}
	}); cerr != nil {
		ferr = cerr
	}
	if ferr != nil {
		d.Close()
		return nil, fmt.Errorf("lock %s: %w", filepath.Dir(file), ferr)
	}
	return func() {
		rc.Control(func(fd uintptr) { syscall.Flock(int(fd), syscall.LOCK_UN) })
		d.Close()
	}, nil
}
