// Command report reads the `go test -json` streams of make test's phases and
// tells what happened: while a phase runs (report stream), one line per
// package and the output of every failed test; at the end (report summary),
// the counts of each phase, every skip with its reason, and a failure for a
// skip that is neither on the allow-list nor made good by the same test
// passing in another phase (a lab test skipped under -race runs in the lab
// phase).
//
//	go test -json ./... | tee race.json | go run ./test/report stream
//	go run ./test/report summary -allow test/skips.allow race=race.json lab=lab.json
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
)

// event is one line of test2json's output.
type event struct {
	Action      string
	Package     string
	ImportPath  string // build-output, build-fail
	Test        string
	Output      string
	Elapsed     float64
	FailedBuild string
}

// key names one test of one package.
type key struct{ pkg, test string }

// result is what one phase says of its tests and packages.
type result struct {
	tests    map[key]string   // pass, fail, skip
	output   map[key][]string // a test's output, or a package's (test "")
	pkgs     map[string]string
	elapsed  map[string]float64
	builds   map[string][]string // build output by import path
	badBuild map[string]bool
}

func newResult() *result {
	return &result{tests: map[key]string{}, output: map[key][]string{}, pkgs: map[string]string{},
		elapsed: map[string]float64{}, builds: map[string][]string{}, badBuild: map[string]bool{}}
}

// add takes one event; it reports a package that just ended.
func (r *result) add(e event) (ended string) {
	switch e.Action {
	case "build-output":
		r.builds[e.ImportPath] = append(r.builds[e.ImportPath], e.Output)
		return ""
	case "build-fail":
		r.badBuild[e.ImportPath] = true
		return ""
	}
	k := key{e.Package, e.Test}
	switch e.Action {
	case "output":
		// Keep a bounded tail: a chatty test must not fill memory.
		out := append(r.output[k], e.Output)
		if len(out) > 400 {
			out = out[len(out)-400:]
		}
		r.output[k] = out
	case "pass", "fail", "skip":
		if e.Test != "" {
			r.tests[k] = e.Action
			if e.Action == "pass" {
				delete(r.output, k)
			}
			return ""
		}
		r.pkgs[e.Package] = e.Action
		r.elapsed[e.Package] = e.Elapsed
		return e.Package
	}
	return ""
}

func read(in io.Reader, each func(event)) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			// go test prints build errors of a package it cannot
			// build as plain text on stderr; anything else is kept as is.
			each(event{Action: "output", Output: string(line) + "\n"})
			continue
		}
		each(e)
	}
	return sc.Err()
}

// stream prints a phase as it runs.
func stream(in io.Reader, out io.Writer) error {
	r := newResult()
	return read(in, func(e event) {
		if e.Package == "" && e.ImportPath == "" && e.Action == "output" {
			fmt.Fprint(out, e.Output)
			return
		}
		if e.Action == "build-fail" {
			fmt.Fprintf(out, "BUILD FAIL %s\n%s", e.ImportPath, strings.Join(r.builds[e.ImportPath], ""))
		}
		pkg := r.add(e)
		if pkg == "" {
			return
		}
		pass, fail, skip := r.counts(pkg)
		fmt.Fprintf(out, "%-4s %-55s %6.1fs  %d passed, %d failed, %d skipped\n",
			strings.ToUpper(r.pkgs[pkg]), pkg, r.elapsed[pkg], pass, fail, skip)
		if r.pkgs[pkg] == "fail" {
			printFailures(out, r, pkg)
		}
	})
}

func (r *result) counts(pkg string) (pass, fail, skip int) {
	for k, v := range r.tests {
		if pkg != "" && k.pkg != pkg {
			continue
		}
		switch v {
		case "pass":
			pass++
		case "fail":
			fail++
		case "skip":
			skip++
		}
	}
	return
}

func printFailures(out io.Writer, r *result, pkg string) {
	var failed []key
	for k, v := range r.tests {
		if k.pkg == pkg && v == "fail" {
			failed = append(failed, k)
		}
	}
	sort.Slice(failed, func(i, j int) bool { return failed[i].test < failed[j].test })
	for _, k := range failed {
		// A parent's failure repeats its subtests': print the leaves.
		if hasFailedChild(r, k) {
			continue
		}
		fmt.Fprintf(out, "--- FAIL %s %s\n%s", k.pkg, k.test, strings.Join(r.output[k], ""))
	}
	if len(failed) == 0 {
		fmt.Fprintf(out, "--- FAIL %s (no test failed: the package itself did)\n%s", pkg, strings.Join(r.output[key{pkg, ""}], ""))
	}
}

func hasFailedChild(r *result, k key) bool {
	for c, v := range r.tests {
		if v == "fail" && c.pkg == k.pkg && strings.HasPrefix(c.test, k.test+"/") {
			return true
		}
	}
	return false
}

// skipReason is the last line a skipped test wrote, without its file:line.
var fileLine = regexp.MustCompile(`^\s*\S+\.go:\d+: `)

func skipReason(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "--- SKIP") || strings.HasPrefix(l, "=== ") {
			continue
		}
		return strings.TrimSpace(fileLine.ReplaceAllString(lines[i], ""))
	}
	return "(no reason given)"
}

// allowEntry is one line of the allow-list: a package, a test (a regular
// expression over the whole name) and why skipping it is right.
type allowEntry struct {
	pkg    string
	name   string
	test   *regexp.Regexp
	reason string
	used   bool
}

func readAllow(path string) ([]*allowEntry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []*allowEntry
	for n, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		rule, reason, _ := strings.Cut(line, "#")
		f := strings.Fields(rule)
		if len(f) != 2 || strings.TrimSpace(reason) == "" {
			return nil, fmt.Errorf("%s:%d: want `PACKAGE TEST  # reason`, got %q", path, n+1, line)
		}
		re, err := regexp.Compile("^(?:" + f[1] + ")$")
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, n+1, err)
		}
		out = append(out, &allowEntry{pkg: f[0], name: f[1], test: re, reason: strings.TrimSpace(reason)})
	}
	return out, nil
}

func (a *allowEntry) matches(k key) bool {
	return (a.pkg == k.pkg || strings.HasSuffix(k.pkg, "/"+a.pkg)) && a.test.MatchString(k.test)
}

type phase struct {
	name string
	r    *result
}

// summary prints the counts and the skips of every phase, and fails on a
// failure or an unexpected skip.
func summary(out io.Writer, phases []phase, allow []*allowEntry) error {
	passedSomewhere := map[key]string{}
	for _, p := range phases {
		for k, v := range p.r.tests {
			if v == "pass" {
				passedSomewhere[k] = p.name
			}
		}
	}
	var total [3]int
	var problems []string
	fmt.Fprintln(out, "== summary")
	for _, p := range phases {
		pass, fail, skip := p.r.counts("")
		total[0], total[1], total[2] = total[0]+pass, total[1]+fail, total[2]+skip
		failedPkgs := 0
		for pkg, v := range p.r.pkgs {
			if v == "fail" {
				failedPkgs++
				problems = append(problems, fmt.Sprintf("%s: package %s failed", p.name, pkg))
			}
		}
		for path := range p.r.badBuild {
			problems = append(problems, fmt.Sprintf("%s: %s does not build", p.name, path))
		}
		fmt.Fprintf(out, "%-6s %3d packages (%d failed), %5d tests passed, %d failed, %d skipped\n",
			p.name, len(p.r.pkgs), failedPkgs, pass, fail, skip)
	}
	var covered, allowed, unexpected []string
	for _, p := range phases {
		var ks []key
		for k, v := range p.r.tests {
			if v == "skip" {
				ks = append(ks, k)
			}
		}
		sort.Slice(ks, func(i, j int) bool {
			if ks[i].pkg != ks[j].pkg {
				return ks[i].pkg < ks[j].pkg
			}
			return ks[i].test < ks[j].test
		})
		for _, k := range ks {
			line := fmt.Sprintf("%s %s %s: %s", p.name, k.pkg, k.test, skipReason(p.r.output[k]))
			if other, ok := passedSomewhere[k]; ok {
				covered = append(covered, line+" (ran in "+other+")")
				continue
			}
			var hit *allowEntry
			for _, a := range allow {
				if a.matches(k) {
					hit = a
					break
				}
			}
			if hit != nil {
				hit.used = true
				allowed = append(allowed, line+"  [allowed: "+hit.reason+"]")
				continue
			}
			unexpected = append(unexpected, line)
		}
	}
	section(out, "skipped, and run in another phase", covered)
	section(out, "skipped, on the allow-list (test/skips.allow)", allowed)
	section(out, "skipped, NOT on the allow-list", unexpected)
	var stale []string
	for _, a := range allow {
		if !a.used {
			stale = append(stale, a.pkg+" "+a.name+"  # "+a.reason)
		}
	}
	section(out, "allow-list entries that matched no skip this run", stale)
	for _, u := range unexpected {
		problems = append(problems, "unexpected skip: "+u)
	}
	fmt.Fprintf(out, "%d passed, %d failed, %d skipped\n", total[0], total[1], total[2])
	if len(problems) > 0 {
		fmt.Fprintln(out, "FAIL:")
		for _, p := range problems {
			fmt.Fprintln(out, "  "+p)
		}
		return errors.New("the suite failed")
	}
	return nil
}

func section(out io.Writer, title string, lines []string) {
	if len(lines) == 0 {
		return
	}
	fmt.Fprintf(out, "-- %s (%d)\n", title, len(lines))
	for _, l := range lines {
		fmt.Fprintln(out, "  "+l)
	}
}

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

func run(args []string, in io.Reader, out io.Writer) error {
	usage := errors.New("usage: report stream < go-test.json | report summary [-allow FILE] PHASE=FILE...")
	if len(args) == 0 {
		return usage
	}
	switch args[0] {
	case "stream":
		return stream(in, out)
	case "summary":
		args = args[1:]
		var allow []*allowEntry
		if len(args) >= 2 && args[0] == "-allow" {
			var err error
			if allow, err = readAllow(args[1]); err != nil {
				return err
			}
			args = args[2:]
		}
		var phases []phase
		for _, a := range args {
			name, file, ok := strings.Cut(a, "=")
			if !ok {
				return usage
			}
			f, err := os.Open(file)
			if err != nil {
				return err
			}
			r := newResult()
			err = read(f, func(e event) { r.add(e) })
			f.Close()
			if err != nil {
				return fmt.Errorf("%s: %v", file, err)
			}
			phases = append(phases, phase{name, r})
		}
		return summary(out, phases, allow)
	}
	return usage
}
