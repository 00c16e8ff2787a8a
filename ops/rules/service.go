package rules

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vigilops/vigil/ops/access"
)

// Prometheus is what a change needs of Prometheus; the Prometheus
// integration's *Client is one.
type Prometheus interface {
	// Reload makes Prometheus read its rule files again (POST /-/reload).
	Reload(ctx context.Context) error
	// LoadedRules lists the alerting rules Prometheus has loaded.
	LoadedRules(ctx context.Context) ([]Loaded, error)
}

// Journal records each change; *audit.Journal is one.
type Journal interface {
	Record(ctx context.Context, actor access.Actor, action, target string, params map[string]string, err error) error
}

// DefaultLoadTimeout bounds the wait for Prometheus to show a change.
const DefaultLoadTimeout = 15 * time.Second

// Service changes the rule files vigil owns.
type Service struct {
	files   []string
	prom    Prometheus
	parser  Parser
	journal Journal
	guard   access.Guard

	// LoadTimeout bounds the wait after a reload (DefaultLoadTimeout).
	LoadTimeout time.Duration
	// Poll is the wait between two reads of the loaded rules (250ms).
	Poll time.Duration
	// Now measures how long a change took (time.Now).
	Now func() time.Time

	// mu makes a read, compare, write and reload one step for the
	// sessions of this process, a lock of the file's directory for the
	// other processes of this host; the hash comparison catches saves
	// from a stale read.
	mu sync.Mutex
}

// NewService returns a service for the files vigil owns (config
// prometheus.rule_files, new rules going to the first), validating with
// parser.
func NewService(files []string, prom Prometheus, parser Parser, journal Journal, guard access.Guard) *Service {
	clean := make([]string, len(files))
	for i, f := range files {
		clean[i] = filepath.Clean(f)
	}
	return &Service{files: clean, prom: prom, parser: parser, journal: journal, guard: guard,
		LoadTimeout: DefaultLoadTimeout, Poll: 250 * time.Millisecond, Now: time.Now}
}

// Files are the rule files vigil owns.
func (s *Service) Files() []string { return slices.Clone(s.files) }

// DefaultFile is where new rules go: the first owned file.
func (s *Service) DefaultFile() string {
	if len(s.files) == 0 {
		return ""
	}
	return s.files[0]
}

// Definition reads an owned rule back into a definition.
func (s *Service) Definition(o Owned) Definition { return DefinitionOf(s.parser, o.Group, o.Rule) }

// Owns reports whether vigil owns file.
func (s *Service) Owns(file string) bool { return slices.Contains(s.files, filepath.Clean(file)) }

// Read reads an owned file: the snapshot a form keeps to save against.
func (s *Service) Read(file string) (*Snapshot, error) {
	if file == "" {
		return nil, errors.New("no rule file vigil owns: set prometheus.rule_files in the config")
	}
	if !s.Owns(file) {
		return nil, &NotOwnedError{File: file}
	}
	return readFile(s.parser, filepath.Clean(file))
}

// List returns the rules of every owned file.
func (s *Service) List() ([]Owned, error) {
	var out []Owned
	var errs []error
	for _, f := range s.files {
		snap, err := readFile(s.parser, f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, snap.Rules()...)
	}
	return out, errors.Join(errs...)
}

// Result is a change done: the diff written and how long from the call to
// Prometheus showing the change.
type Result struct {
	File string
	Diff string
	Hash string // the file's hash after the change
	Took time.Duration
}

// Add writes a new rule into base's file (read with Read when the form
// opened), reloads Prometheus and waits until it shows the rule.
func (s *Service) Add(ctx context.Context, actor access.Actor, base *Snapshot, d Definition) (Result, error) {
	return s.change(ctx, actor, ActAdd, base, d.Name, d.params(), func(g *RuleFile) error {
		if _, ok := (&Snapshot{Groups: *g}).Find(d.Name); ok {
			return access.Refuse(fmt.Errorf("a rule called %s exists already in %s: edit it, or choose another name", d.Name, base.File))
		}
		r := d.Rule()
		for i := range g.Groups {
			if g.Groups[i].Name == d.group() {
				g.Groups[i].Rules = append(g.Groups[i].Rules, r)
				return nil
			}
		}
		g.Groups = append(g.Groups, Group{Name: d.group(), Rules: []Rule{r}})
		return nil
	}, loadedAs(base.File, d.Name, d.Condition()))
}

// Edit replaces the rule called name (it may be renamed to d.Name).
func (s *Service) Edit(ctx context.Context, actor access.Actor, base *Snapshot, name string, d Definition) (Result, error) {
	params := d.params()
	if name != d.Name {
		params["renamed_from"] = name
	}
	return s.change(ctx, actor, ActEdit, base, d.Name, params, func(g *RuleFile) error {
		if name != d.Name {
			if _, ok := (&Snapshot{Groups: *g}).Find(d.Name); ok {
				return access.Refuse(fmt.Errorf("a rule called %s exists already in %s", d.Name, base.File))
			}
		}
		for i := range g.Groups {
			for j, r := range g.Groups[i].Rules {
				if r.Alert == name {
					g.Groups[i].Rules[j] = d.Rule()
					return nil
				}
			}
		}
		return fmt.Errorf("no rule called %s in %s", name, base.File)
	}, loadedAs(base.File, d.Name, d.Condition()))
}

// Delete removes the rule called name: a dangerous action, confirmed by
// the caller (DeleteConfirmation).
func (s *Service) Delete(ctx context.Context, actor access.Actor, base *Snapshot, name string) (Result, error) {
	return s.change(ctx, actor, ActDelete, base, name, map[string]string{}, func(g *RuleFile) error {
		for i := range g.Groups {
			for j, r := range g.Groups[i].Rules {
				if r.Alert == name {
					g.Groups[i].Rules = slices.Delete(g.Groups[i].Rules, j, j+1)
					return nil
				}
			}
		}
		return fmt.Errorf("no rule called %s in %s", name, base.File)
	}, func(ls []Loaded) bool { return !slices.ContainsFunc(ls, sameRule(base.File, name)) })
}

func (d Definition) params() map[string]string {
	p := map[string]string{"expr": d.Condition()}
	if d.For > 0 {
		p["for"] = d.For.String()
	}
	if d.Severity != "" {
		p["severity"] = d.Severity
	}
	return p
}

// sameFile reports whether Prometheus's file names ours: the same path,
// or the same name when Prometheus sees it under another directory.
func sameFile(promFile, ours string) bool {
	return filepath.Clean(promFile) == ours || filepath.Base(promFile) == filepath.Base(ours)
}

func sameRule(file, name string) func(Loaded) bool {
	return func(l Loaded) bool { return l.Name == name && sameFile(l.File, file) }
}

// loadedAs waits for the rule called name of file with expression expr.
func loadedAs(file, name, expr string) func([]Loaded) bool {
	same := sameRule(file, name)
	return func(ls []Loaded) bool {
		return slices.ContainsFunc(ls, func(l Loaded) bool { return same(l) && squash(l.Expr) == squash(expr) })
	}
}

// squash drops blanks, for comparing an expression with Prometheus's
// rendering of it.
func squash(s string) string { return strings.Join(strings.Fields(s), "") }

// change is the one path of every change: guard, ownership, compare with
// the base, mutate, validate, write, reload (restoring on failure), wait
// until loaded, journal.
func (s *Service) change(ctx context.Context, actor access.Actor, action access.Action, base *Snapshot, name string,
	params map[string]string, mutate func(*RuleFile) error, loaded func([]Loaded) bool) (Result, error) {
	start := s.Now()
	res := Result{}
	if base != nil {
		res.File = base.File
		params["file"] = base.File
	}
	record := func(err error) (Result, error) {
		if res.Diff != "" {
			params["diff"] = res.Diff
		}
		if s.journal == nil {
			return res, err
		}
		if jerr := s.journal.Record(ctx, actor, action.Name, Target(name), params, err); jerr != nil {
			if err != nil {
				return res, fmt.Errorf("%w (and the journal failed: %v)", err, jerr)
			}
			return res, fmt.Errorf("done, but the journal failed: %w", jerr)
		}
		return res, err
	}
	if err := s.guard.Check(actor, action); err != nil {
		return record(err)
	}
	if base == nil {
		return record(errors.New("no rule file read: read it before changing it"))
	}
	if !s.Owns(base.File) {
		return record(&NotOwnedError{File: base.File})
	}
	if name == "" {
		return record(&ParseError{File: base.File, Errs: []error{errors.New("the rule needs a name (its alertname)")}})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	unlock, err := lockDir(base.File)
	if err != nil {
		return record(err)
	}
	defer unlock()

	cur, err := readFile(s.parser, base.File)
	if cur == nil {
		return record(err)
	}
	if cur.Hash != base.Hash {
		return record(&ConflictError{File: base.File, Diff: diff(base.File, base.Content, cur.Content)})
	}
	if err != nil {
		return record(fmt.Errorf("%s does not parse as it is, so vigil leaves it alone: %w", base.File, err))
	}
	groups := cur.Groups
	groups.Groups = slices.Clone(groups.Groups)
	for i := range groups.Groups {
		groups.Groups[i].Rules = slices.Clone(groups.Groups[i].Rules)
	}
	if err := mutate(&groups); err != nil {
		return record(err)
	}
	next, err := render(groups)
	if err != nil {
		return record(err)
	}
	if _, err := parse(s.parser, base.File, next); err != nil {
		return record(err)
	}
	res.Diff = diff(base.File, cur.Content, next)
	if err := writeFile(base.File, next); err != nil {
		return record(fmt.Errorf("write %s: %w", base.File, err))
	}
	if err := s.prom.Reload(ctx); err != nil {
		if rerr := writeFile(base.File, cur.Content); rerr != nil {
			return record(fmt.Errorf("%w; restoring %s failed too: %v", err, base.File, rerr))
		}
		res.Diff = ""
		params["attempted_diff"] = diff(base.File, cur.Content, next)
		return record(fmt.Errorf("%w: %s was restored to its previous content", err, base.File))
	}
	res.Hash = Hash(next)
	if err := s.waitLoaded(ctx, name, loaded); err != nil {
		return record(err)
	}
	res.Took = s.Now().Sub(start)
	// How long from the call to Prometheus showing it: vigil serve's
	// metrics time actions by this parameter.
	params["duration"] = res.Took.String()
	return record(nil)
}

// waitLoaded polls Prometheus's loaded rules until loaded says yes, at
// most LoadTimeout.
func (s *Service) waitLoaded(ctx context.Context, name string, loaded func([]Loaded) bool) error {
	ctx, cancel := context.WithTimeout(ctx, s.LoadTimeout)
	defer cancel()
	var last error
	for {
		ls, err := s.prom.LoadedRules(ctx)
		if err == nil && loaded(ls) {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			msg := fmt.Sprintf("Prometheus reloaded, but did not show the change to %s within %s: look at its rules page and its log", name, s.LoadTimeout)
			if last != nil {
				msg += " (last error: " + last.Error() + ")"
			}
			return errors.New(msg)
		case <-time.After(s.Poll):
		}
	}
}
