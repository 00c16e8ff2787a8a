package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigValidateOK(t *testing.T) {
	dir := sandbox(t)
	path := filepath.Join(dir, "ok.yaml")
	writeFile(t, path, "identity:\n  name: alice\n  role: admin\ntheme: light\n")
	code, out, errOut := cli(t, "config", "validate", path)
	if code != 0 || out != path+": ok\n" || errOut != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// The file comes from --config, then $VIGIL_CONFIG, then the XDG path.
func TestConfigValidateResolvesPath(t *testing.T) {
	dir := sandbox(t)
	xdg := filepath.Join(dir, "config", "vigil", "config.yaml")
	writeFile(t, xdg, "theme: dark\n")
	env := filepath.Join(dir, "env.yaml")
	writeFile(t, env, "theme: light\n")
	flag := filepath.Join(dir, "flag.yaml")
	writeFile(t, flag, "theme: colorblind\n")

	if code, out, _ := cli(t, "config", "validate"); code != 0 || out != xdg+": ok\n" {
		t.Errorf("XDG: exit %d, stdout %q", code, out)
	}
	t.Setenv("VIGIL_CONFIG", env)
	if code, out, _ := cli(t, "config", "validate"); code != 0 || out != env+": ok\n" {
		t.Errorf("VIGIL_CONFIG: exit %d, stdout %q", code, out)
	}
	if code, out, _ := cli(t, "--config", flag, "config", "validate"); code != 0 || out != flag+": ok\n" {
		t.Errorf("--config: exit %d, stdout %q", code, out)
	}
}

func TestConfigValidateBad(t *testing.T) {
	dir := sandbox(t)
	path := filepath.Join(dir, "bad.yaml")
	writeFile(t, path, strings.Join([]string{
		"identity:",
		"  name: alice",
		"  rol: admin",
		"prometheus:",
		"  url: not a url",
		"  poll_interval: soon",
		"",
	}, "\n"))
	code, out, errOut := cli(t, "config", "validate", path)
	if code != 1 || out != "" {
		t.Fatalf("exit %d, stdout %q; want exit 1 and nothing on stdout", code, out)
	}
	for _, want := range []string{
		path + ":3: identity.rol: ",
		`did you mean "role"`,
		path + ":5: prometheus.url: ",
		path + ":6: prometheus.poll_interval: ",
		path + ": 3 error(s)",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
}

func TestConfigValidateMissingFile(t *testing.T) {
	dir := sandbox(t)
	path := filepath.Join(dir, "absent.yaml")
	code, _, errOut := cli(t, "config", "validate", path)
	if code != 1 || !strings.Contains(errOut, path) || !strings.Contains(errOut, "vigil config init") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

// A console started on a bad config stops before the TUI and names
// file:line:key on stderr.
func TestConsoleRefusesBadConfig(t *testing.T) {
	dir := sandbox(t)
	path := filepath.Join(dir, "bad.yaml")
	writeFile(t, path, "identity:\n  role: root\n")
	code, out, errOut := cli(t, "--config", path, "--log-file", filepath.Join(dir, "vigil.log"))
	if code != 1 || out != "" {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
	for _, want := range []string{path + ":2: identity.role: ", "vigil config validate " + path} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
}

func TestConfigInit(t *testing.T) {
	dir := sandbox(t)
	path := filepath.Join(dir, "config", "vigil", "config.yaml")
	code, out, errOut := cli(t, "config", "init")
	if code != 0 || !strings.Contains(out, "wrote "+path) || errOut != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	written, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(written), "#") {
		t.Errorf("the example should start with a comment:\n%.200s", written)
	}
	if code, out, errOut := cli(t, "config", "validate"); code != 0 {
		t.Fatalf("the written example does not validate: stdout %q, stderr %q", out, errOut)
	}
}

func TestConfigInitRefusesOverwrite(t *testing.T) {
	dir := sandbox(t)
	path := filepath.Join(dir, "mine.yaml")
	writeFile(t, path, "theme: light\n")
	code, out, errOut := cli(t, "--config", path, "config", "init")
	if code != 1 || out != "" {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
	if !strings.Contains(errOut, path+" already exists") {
		t.Errorf("stderr should say the file exists: %q", errOut)
	}
	if got, _ := os.ReadFile(path); string(got) != "theme: light\n" {
		t.Errorf("init changed the existing file: %q", got)
	}
}

// Key remapping names the console's bindings, which only ui knows: validate
// checks them too.
func TestConfigValidateKeys(t *testing.T) {
	dir := sandbox(t)
	path := filepath.Join(dir, "keys.yaml")
	writeFile(t, path, "keys:\n  quitt: [x]\n")
	code, _, errOut := cli(t, "config", "validate", path)
	if code != 1 || !strings.Contains(errOut, "unknown binding quitt") || !strings.Contains(errOut, "quit") {
		t.Fatalf("exit %d, stderr %q; want exit 1 naming the unknown binding and the known ones", code, errOut)
	}
	writeFile(t, path, "keys:\n  quit: [x]\n")
	if code, out, errOut := cli(t, "config", "validate", path); code != 0 {
		t.Fatalf("a valid remap: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
