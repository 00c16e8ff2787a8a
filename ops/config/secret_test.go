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
