package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
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
			return "", fmt.Errorf("environment variable %s is not set: export it, or point the secret at a file", s.Env)
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
	if s.File != "" {
		return "file " + s.File
	}
	return "environment variable " + s.Env
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
