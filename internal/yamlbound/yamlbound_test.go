package yamlbound

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/vigilops/vigil/internal/yamlbound/bombs"
)

func parse(t *testing.T, src string) *yaml.Node {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatal(err)
	}
	return &n
}

func TestCheck(t *testing.T) {
	for _, tt := range []struct {
		name, src string
		line      int // 0: accepted
		want      string
	}{
		{"plain", "a: [1, 2, 3]\nb: {c: d}\n", 0, ""},
		{"aliases within the limit", "a: &a [1, 2]\nb: [*a, *a, *a]\nc: {<<: {x: 1}}\n", 0, ""},
		{"billion laughs", bombs.BillionLaughs, 5, "expand to more than 100000 values"},
		{"merge keys", bombs.MergeBomb, 5, "expand to more than 100000 values"},
		{"flat but too many", "[" + strings.Repeat("1,", MaxNodes) + "1]", 1, "expand to more than"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(parse(t, tt.src))
			if tt.line == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ee *ExpansionError
			if !errors.As(err, &ee) || ee.Line != tt.line || !strings.Contains(ee.Msg, tt.want) {
				t.Fatalf("got %v, want line %d: …%s…", err, tt.line, tt.want)
			}
		})
	}
}

func TestCheckLoop(t *testing.T) {
	// yaml.v3 registers an anchor before parsing its content, so an alias
	// inside it names its own ancestor.
	var n yaml.Node
	if err := yaml.Unmarshal([]byte("a: &a [x, *a]\n"), &n); err != nil {
		t.Fatalf("yaml.v3 now rejects the loop itself (%v): this test can go", err)
	}
	if err := Check(&n); err == nil || !strings.Contains(err.Error(), "refers to a node that contains it") {
		t.Fatalf("got %v", err)
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	small, big := filepath.Join(dir, "small"), filepath.Join(dir, "big")
	if err := os.WriteFile(small, []byte("a: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(big, make([]byte, MaxBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadFile(small); err != nil || string(b) != "a: 1\n" {
		t.Fatalf("ReadFile(small) = %q, %v", b, err)
	}
	if _, err := ReadFile(big); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("ReadFile(big) = %v, want ErrTooLarge", err)
	}
}
