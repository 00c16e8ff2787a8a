package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cli runs vigil's command line in-process, in a sandbox of XDG
// directories, with no terminal (stdin is empty), and returns its exit
// code, stdout and stderr.
func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// sandbox points every XDG directory and VIGIL_CONFIG into a temporary
// directory and returns it.
func sandbox(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	t.Setenv("VIGIL_CONFIG", "")
	return dir
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestVersion(t *testing.T) {
	defer func(v, c, d string) { version, commit, date = v, c, d }(version, commit, date)
	version, commit, date = "1.2.3", "abc1234", "2026-01-02T03:04:05Z"
	code, out, errOut := cli(t, "version")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{"vigil 1.2.3\n", "commit abc1234\n", "built  2026-01-02T03:04:05Z\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("version output lacks %q:\n%s", want, out)
		}
	}
}

func TestVersionDevDefaults(t *testing.T) {
	defer func(v, c, d string) { version, commit, date = v, c, d }(version, commit, date)
	version, commit, date = "", "", ""
	b := currentBuild()
	if b.Version == "" || b.Commit == "" || b.Date == "" {
		t.Fatalf("a dev build must still name version, commit and date: %+v", b)
	}
}

func TestUnknownCommandFails(t *testing.T) {
	sandbox(t)
	code, out, errOut := cli(t, "frobnicate")
	if code == 0 || out != "" || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 5, 6, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		in      string
		want    time.Time
		wantErr string
	}{
		{in: "2h", want: now.Add(-2 * time.Hour)},
		{in: "90m", want: now.Add(-90 * time.Minute)},
		{in: "2026-05-06T10:30:00Z", want: time.Date(2026, 5, 6, 10, 30, 0, 0, time.UTC)},
		{in: "2026-05-06T10:30:00+02:00", want: time.Date(2026, 5, 6, 8, 30, 0, 0, time.UTC)},
		{in: "-1h", wantErr: "must be positive"},
		{in: "yesterday", wantErr: "use a duration such as 2h"},
		{in: "2026-05-06", wantErr: "RFC 3339"},
	}
	for _, c := range cases {
		got, err := parseSince(c.in, now)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("parseSince(%q) error = %v, want one containing %q", c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil || !got.Equal(c.want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}
