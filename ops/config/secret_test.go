package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const token = "dop_v1_0123456789abcdef"

func TestSecretValue(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	if err := os.WriteFile(file, []byte("  "+token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VIGIL_TEST_TOKEN", token+"\n")
	for _, s := range []Secret{{Env: "VIGIL_TEST_TOKEN"}, {File: file}} {
		got, err := s.Value()
		if err != nil || got != token {
			t.Errorf("%v.Value() = %q, %v", s, got, err)
		}
	}
}

func TestSecretErrorsNameTheSourceNotTheValue(t *testing.T) {
	dir := t.TempDir()
	twoLines := filepath.Join(dir, "two-lines")
	os.WriteFile(twoLines, []byte(token+"\n"+token+"\n"), 0o600)
	blank := filepath.Join(dir, "blank")
	os.WriteFile(blank, []byte(" \n"), 0o600)
	t.Setenv("VIGIL_TEST_MULTI", token+"\nsecond "+token)
	t.Setenv("VIGIL_TEST_EMPTY", "")
	os.Unsetenv("VIGIL_TEST_UNSET")
	tests := []struct {
		s    Secret
		want string
	}{
		{Secret{Env: "VIGIL_TEST_UNSET"}, "environment variable VIGIL_TEST_UNSET is not set"},
		{Secret{Env: "VIGIL_TEST_EMPTY"}, "environment variable VIGIL_TEST_EMPTY is empty"},
		{Secret{Env: "VIGIL_TEST_MULTI"}, "environment variable VIGIL_TEST_MULTI holds several lines"},
		{Secret{File: twoLines}, "file " + twoLines + " holds several lines"},
		{Secret{File: blank}, "file " + blank + " is empty"},
		{Secret{File: filepath.Join(dir, "absent")}, "read secret file " + filepath.Join(dir, "absent") + ": no such file"},
		{Secret{}, "no secret configured"},
		{Secret{Env: "A", File: "b"}, "not both"},
	}
	for _, tt := range tests {
		v, err := tt.s.Value()
		if err == nil {
			t.Errorf("%#v.Value() = %q, want an error", tt.s, v)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%#v.Value() error %q, want %q", tt.s, err, tt.want)
		}
		if strings.Contains(err.Error(), token) {
			t.Errorf("%#v.Value() error leaks the secret: %q", tt.s, err)
		}
	}
}

func TestSecretPrintsRedacted(t *testing.T) {
	s := Secret{File: "/run/secrets/do"}
	c := &Config{DigitalOcean: &DigitalOcean{Token: s}}
	j, err := json.Marshal(c.DigitalOcean)
	if err != nil {
		t.Fatal(err)
	}
	y, err := yaml.Marshal(c.DigitalOcean)
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{s.String(), fmt.Sprintf("%v", s), fmt.Sprintf("%+v", s), fmt.Sprintf("%#v", s), fmt.Sprintf("%+v", *c.DigitalOcean), string(j), string(y)} {
		if !strings.Contains(out, "[redacted") {
			t.Errorf("secret printed as %q, want the redacted form", out)
		}
	}
}

func TestInlineSecretNeverEchoed(t *testing.T) {
	for _, body := range []string{
		"digitalocean:\n  token: " + token + "\n",
		"digitalocean:\n  token: [" + token + "]\n",
		"digitalocean:\n  token:\n    " + token + ": x\n",
	} {
		_, err := Load(writeConfig(t, body))
		if err == nil {
			t.Fatalf("inline token accepted:\n%s", body)
		}
		if strings.Contains(err.Error(), token) {
			t.Errorf("the error shows the token: %v", err)
		}
		if !strings.Contains(err.Error(), "digitalocean.token") {
			t.Errorf("the error does not name the key: %v", err)
		}
	}
}

func TestLooksLikeToken(t *testing.T) {
	for _, s := range []string{
		"dop_v1_" + strings.Repeat("0a", 32), "doo_v1_abc", "ghp_abc", "glpat-abc",
		strings.Repeat("0123456789abcdef", 4),
		"aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM", // base64url, mixed
	} {
		if !LooksLikeToken(s) {
			t.Errorf("LooksLikeToken(%q) = false", s)
		}
	}
	for _, s := range []string{
		"", "DIGITALOCEAN_ACCESS_TOKEN", "MY_COMPANY_DIGITALOCEAN_ACCESS_TOKEN_PROD",
		"~/.config/vigil/do-token", "/run/secrets/Team2Prod/digitalocean_token_2026",
		"/tmp/TestSecretErrorsNameTheSourceNotTheValue1148215328/001/two-lines",
	} {
		if LooksLikeToken(s) {
			t.Errorf("LooksLikeToken(%q) = true", s)
		}
	}
}

// TestTokenInSecretRefused: a token pasted where the variable name or file
// belongs fails validation, and no error shows it, nor a key written twice
// in the token block.
func TestTokenInSecretRefused(t *testing.T) {
	tok := "dop_v1_" + strings.Repeat("9f", 32)
	for _, tt := range []struct{ body, want string }{
		{"digitalocean:\n  token: {env: " + tok + "}\n", ":2: digitalocean.token.env: this looks like a token, not a variable name"},
		{"digitalocean:\n  token: {file: " + tok + "}\n", ":2: digitalocean.token.file: this looks like a token, not a file name"},
		{"digitalocean:\n  token: {env: DO TOKEN}\n", ":2: digitalocean.token.env: not a variable name (not shown)"},
		{"digitalocean:\n  token:\n    " + tok + ": 1\n    " + tok + ": 1\n", ":3: digitalocean.token: unknown key (not shown)"},
	} {
		path := writeConfig(t, tt.body)
		_, err := Load(path)
		if err == nil || !strings.HasPrefix(err.Error(), path+tt.want) {
			t.Errorf("got %v, want %s%s", err, path, tt.want)
			continue
		}
		if strings.Contains(err.Error(), tok[8:]) || strings.Contains(err.Error(), "DO TOKEN") {
			t.Errorf("the error shows the value: %v", err)
		}
	}
	// Built by hand, not loaded: the name is still not shown at run time.
	if _, err := (Secret{Env: tok}).Value(); err == nil || strings.Contains(err.Error(), tok[8:]) {
		t.Errorf("Value() error = %v", err)
	}
}

func TestURLPasswordsNotShown(t *testing.T) {
	path := writeConfig(t, "prometheus: {url: 'ftp://bob:s3cret@prom:9090'}\n"+
		"alertmanager: {urls: ['http://bob:s3cret@am:9093/', 'http://bob:s3/cret@am:9093/']}\n")
	_, err := Load(path)
	if err == nil || strings.Contains(err.Error(), "s3") {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(err.Error(), `URL "ftp://bob:xxxxx@prom:9090" must start with http://`) {
		t.Errorf("the URL is not shown redacted: %v", err)
	}
}
