package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func jsonl(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

// A stream as go test -json writes it: a pass, a skip with its reason, a
// failed subtest, and a package that does not build.
var phaseRace = jsonl(
	`{"Action":"run","Package":"x/a","Test":"TestPass"}`,
	`{"Action":"pass","Package":"x/a","Test":"TestPass","Elapsed":0.1}`,
	`{"Action":"run","Package":"x/a","Test":"TestLab"}`,
	`{"Action":"output","Package":"x/a","Test":"TestLab","Output":"    lab_test.go:12: the lab is not up: run make lab-up\n"}`,
	`{"Action":"output","Package":"x/a","Test":"TestLab","Output":"--- SKIP: TestLab (0.00s)\n"}`,
	`{"Action":"skip","Package":"x/a","Test":"TestLab"}`,
	`{"Action":"run","Package":"x/a","Test":"TestChild"}`,
	`{"Action":"output","Package":"x/a","Test":"TestChild","Output":"    c_test.go:3: run by TestParent\n"}`,
	`{"Action":"skip","Package":"x/a","Test":"TestChild"}`,
	`{"Action":"run","Package":"x/a","Test":"TestOther"}`,
	`{"Action":"output","Package":"x/a","Test":"TestOther","Output":"    o_test.go:9: tmux is not installed\n"}`,
	`{"Action":"skip","Package":"x/a","Test":"TestOther"}`,
	`{"Action":"pass","Package":"x/a","Elapsed":1.5}`,
	`{"Action":"run","Package":"x/b","Test":"TestT"}`,
	`{"Action":"run","Package":"x/b","Test":"TestT/sub"}`,
	`{"Action":"output","Package":"x/b","Test":"TestT/sub","Output":"    b_test.go:7: got 1, want 2\n"}`,
	`{"Action":"fail","Package":"x/b","Test":"TestT/sub"}`,
	`{"Action":"fail","Package":"x/b","Test":"TestT"}`,
	`{"Action":"fail","Package":"x/b","Elapsed":0.2}`,
	`{"ImportPath":"x/c [x/c.test]","Action":"build-output","Output":"c.go:1: syntax error\n"}`,
	`{"ImportPath":"x/c [x/c.test]","Action":"build-fail"}`,
)

var phaseLab = jsonl(
	`{"Action":"run","Package":"x/a","Test":"TestLab"}`,
	`{"Action":"pass","Package":"x/a","Test":"TestLab"}`,
	`{"Action":"pass","Package":"x/a","Elapsed":3}`,
)

func TestStreamPrintsPackagesAndFailures(t *testing.T) {
	var out strings.Builder
	if err := stream(strings.NewReader(phaseRace), &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"PASS x/a", "1 passed, 0 failed, 3 skipped",
		"FAIL x/b", "--- FAIL x/b TestT/sub", "got 1, want 2",
		"BUILD FAIL x/c [x/c.test]", "syntax error",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("stream output lacks %q:\n%s", want, got)
		}
	}
	// The parent of a failed subtest is not printed again.
	if strings.Contains(got, "--- FAIL x/b TestT\n") {
		t.Errorf("the parent's failure is printed beside its subtest's:\n%s", got)
	}
}

func write(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSummaryJudgesSkips(t *testing.T) {
	dir := t.TempDir()
	race := write(t, dir, "race.json", phaseRace)
	lab := write(t, dir, "lab.json", phaseLab)
	allow := write(t, dir, "allow", "# comment\nx/a TestChild  # a child process of TestParent\nx/z TestGone # nothing skips it\n")

	var out strings.Builder
	err := run([]string{"summary", "-allow", allow, "race=" + race, "lab=" + lab}, nil, &out)
	got := out.String()
	if err == nil {
		t.Fatalf("a failed test, a build failure and an unlisted skip passed:\n%s", got)
	}
	for _, want := range []string{
		"race x/a TestLab: the lab is not up: run make lab-up (ran in lab)",
		"race x/a TestChild: run by TestParent  [allowed: a child process of TestParent]",
		"-- skipped, NOT on the allow-list (1)",
		"race x/a TestOther: tmux is not installed",
		"x/z TestGone  # nothing skips it",
		"package x/b failed", "x/c [x/c.test] does not build",
		"\n2 passed, 2 failed, 3 skipped\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}

	// With every skip accounted for and nothing failed, the summary passes.
	ok := write(t, dir, "ok.json", jsonl(
		`{"Action":"run","Package":"x/a","Test":"TestChild"}`,
		`{"Action":"skip","Package":"x/a","Test":"TestChild"}`,
		`{"Action":"pass","Package":"x/a"}`))
	out.Reset()
	if err := run([]string{"summary", "-allow", allow, "unit=" + ok}, nil, &out); err != nil {
		t.Fatalf("a listed skip failed the run: %v\n%s", err, out.String())
	}
}

func TestAllowListErrorsNameTheLine(t *testing.T) {
	dir := t.TempDir()
	for _, body := range []string{"x/a TestX\n", "x/a Test( # bad regexp\n"} {
		p := write(t, dir, "allow", "# ok\n"+body)
		if _, err := readAllow(p); err == nil || !strings.Contains(err.Error(), "allow:2:") {
			t.Errorf("%q: err %v, want one naming line 2", body, err)
		}
	}
}
