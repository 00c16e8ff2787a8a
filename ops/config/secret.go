package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Secret is read from an environment variable or a file, never written in
// the config itself. Its value never appears in String, logs, marshalled
// output or errors; only Value returns it.
type Secret struct {
	Env  string `yaml:"env"`
	File string `yaml:"file"`
}

// Value reads the secret, trimmed of surrounding white space. Errors name
// the variable or the file, never the value.
func (s Secret) Value() (string, error) {
	var raw string
	switch {
	case s.Env != "" && s.File != "":
		return "", errors.New("a secret takes env or file, not both")
	case s.Env != "":
		v, ok := os.LookupEnv(s.Env)
		if !ok {
			return "", fmt.Errorf("%s is not set: export it, or point the secret at a file", s.source())
		}
		raw = v
	case s.File != "":
		b, err := os.ReadFile(s.File)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err // PathError repeats the path; keep the cause only
			}
			return "", fmt.Errorf("read secret file %s: %v", s.File, err)
		}
		raw = string(b)
	default:
		return "", errors.New("no secret configured: set env or file")
	}
	v := strings.TrimSpace(raw)
	if v == "" {
		return "", fmt.Errorf("secret from %s is empty", s.source())
	}
	if strings.ContainsAny(v, "\r\n") {
		return "", fmt.Errorf("secret from %s holds several lines: keep only the token", s.source())
	}
	return v, nil
}

func (s Secret) source() string {
	name, what := s.Env, "environment variable "
	if s.File != "" {
		name, what = s.File, "file "
	}
	if LooksLikeToken(name) {
		return what + "(its name looks like a token: not shown)"
	}
	return what + name
}

var (
	// tokenPrefix starts the tokens of DigitalOcean (personal, OAuth,
	// refresh), GitHub, GitLab and Slack.
	tokenPrefix = regexp.MustCompile(`^(do[opr]_v1_|gh[opsu]_|github_pat_|glpat-|xox[abpr]-)`)
	hexRun      = regexp.MustCompile(`^[0-9a-fA-F]{32,}$`)
	base64Run   = regexp.MustCompile(`^[A-Za-z0-9+_=-]{32,}$`) // no /: paths have it
)

// LooksLikeToken reports whether s, written where a variable name or a file
// path belongs, is more likely a credential: a known token prefix, 32 or
// more hex digits, or 32 or more base64 characters but / mixing lower case,
// upper case and digits (no variable or file name looks like that).
func LooksLikeToken(s string) bool {
	if tokenPrefix.MatchString(s) || hexRun.MatchString(s) {
		return true
	}
	return base64Run.MatchString(s) &&
		strings.ContainsAny(s, "abcdefghijklmnopqrstuvwxyz") &&
		strings.ContainsAny(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") &&
		strings.ContainsAny(s, "0123456789")
}

// String says where the secret comes from, never what it is.
func (s Secret) String() string {
	if s.Env == "" && s.File == "" {
		return "[redacted: not set]"
	}
	return "[redacted: from " + s.source() + "]"
}

// GoString keeps %#v from printing fields.
func (s Secret) GoString() string { return s.String() }

// MarshalYAML prints the redacted form.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// MarshalJSON prints the redacted form.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }
