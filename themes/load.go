package themes

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vigilops/vigil/internal/yamlbound"
)

// Default is the theme used when none is configured.
const Default = "dark"

//go:embed *.yaml
var embedded embed.FS

var validName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// Names lists the embedded themes, sorted.
func Names() []string {
	entries, _ := embedded.ReadDir(".")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	slices.Sort(names)
	return names
}

// Available lists the embedded themes and those in userDir, sorted and
// without duplicates; for completion of `:theme`.
func Available(userDir string) []string {
	names := Names()
	if userDir != "" {
		files, _ := filepath.Glob(filepath.Join(userDir, "*.yaml"))
		for _, f := range files {
			if n := strings.TrimSuffix(filepath.Base(f), ".yaml"); validName.MatchString(n) {
				names = append(names, n)
			}
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// UserDir is where user themes live: $XDG_CONFIG_HOME/vigil/themes
// (~/.config when XDG_CONFIG_HOME is unset); "" when there is no home.
func UserDir() string {
	if d := os.Getenv("XDG_CONFIG_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "vigil", "themes")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".config", "vigil", "themes")
}

// Load returns the theme called name, validated. A file userDir/NAME.yaml
// takes precedence over the embedded theme of the same name; userDir may
// be "". An empty name loads Default.
func Load(name, userDir string) (*Theme, error) {
	return load(name, userDir, 0)
}

func load(name, userDir string, depth int) (*Theme, error) {
	if name == "" {
		name = Default
	}
	if !validName.MatchString(name) {
		return nil, fmt.Errorf("invalid theme name %q: use lower-case letters, digits, - and _", name)
	}
	if depth > 4 {
		return nil, fmt.Errorf("theme %q: extends goes more than 4 themes deep (a loop?)", name)
	}
	var (
		data   []byte
		source = "embedded " + name + ".yaml"
		err    error
	)
	if userDir != "" {
		source = filepath.Join(userDir, name+".yaml")
		data, err = yamlbound.ReadFile(source)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("theme %q (%s): %w", name, source, err)
		}
	}
	if data == nil {
		source = "embedded " + name + ".yaml"
		data, err = embedded.ReadFile(name + ".yaml")
		if err != nil {
			return nil, fmt.Errorf("unknown theme %q: choose one of %s, or write %s", name,
				strings.Join(Available(userDir), ", "), filepath.Join(userDirOr(userDir), name+".yaml"))
		}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err == nil {
		// Syntax errors surface in the strict decode below.
		if err := yamlbound.Check(&doc); err != nil {
			return nil, fmt.Errorf("theme %q (%s): %w", name, source, err)
		}
	}
	var head struct {
		Extends string `yaml:"extends"`
	}
	_ = doc.Decode(&head)
	t := &Theme{}
	if head.Extends != "" {
		if head.Extends == name {
			// A user theme extending the embedded theme it overrides.
			t, err = load(name, "", depth+1)
		} else {
			t, err = load(head.Extends, userDir, depth+1)
		}
		if err != nil {
			return nil, fmt.Errorf("theme %q (%s) extends %q: %w", name, source, head.Extends, err)
		}
		t.Palette = maps.Clone(t.Palette)
		t.Name = ""
	}
	if err := decodeStrict(data, t); err != nil {
		return nil, fmt.Errorf("theme %q (%s): %w", name, source, err)
	}
	switch t.Name {
	case "":
		t.Name = name
	case name:
	default:
		return nil, fmt.Errorf("theme file %s says name: %s: make the name match the file name", source, t.Name)
	}
	if err := Validate(t); err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, source)
	}
	return t, nil
}

func userDirOr(dir string) string {
	if dir != "" {
		return dir
	}
	return "$XDG_CONFIG_HOME/vigil/themes"
}

func decodeStrict(data []byte, t *Theme) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(t); err != nil && !errors.Is(err, io.EOF) {
		return errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return nil
}

// ParseHex parses a #rrggbb colour.
func ParseHex(s string) (r, g, b uint8, err error) {
	if len(s) != 7 || s[0] != '#' {
		return 0, 0, 0, fmt.Errorf("%q is not a #rrggbb colour", s)
	}
	v, err := strconv.ParseUint(s[1:], 16, 32)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("%q is not a #rrggbb colour", s)
	}
	return uint8(v >> 16), uint8(v >> 8), uint8(v), nil
}

// Resolve turns a palette name or #rrggbb into lower-case #rrggbb; "" when
// color is empty or resolves to nothing (Validate rejects such themes).
func (t *Theme) Resolve(color string) string {
	if c, ok := t.Palette[color]; ok {
		color = c
	}
	r, g, b, err := ParseHex(color)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("#%02x%02x%02x", r, g, b)
}

// Styles lists every semantic section by its YAML path ("border.focused"),
// in declaration order.
func (t *Theme) Styles() []NamedStyle {
	var out []NamedStyle
	walkStyles(reflect.ValueOf(t).Elem(), "", &out)
	return out
}

// NamedStyle is one section of a theme and its path.
type NamedStyle struct {
	Path  string
	Style Style
}

var styleType = reflect.TypeFor[Style]()

func walkStyles(v reflect.Value, prefix string, out *[]NamedStyle) {
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if f.Type.Kind() != reflect.Struct {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		if f.Type == styleType {
			*out = append(*out, NamedStyle{path, v.Field(i).Interface().(Style)})
		} else {
			walkStyles(v.Field(i), path, out)
		}
	}
}

// Validate checks that t has a name, that its palette holds #rrggbb
// colours, and that every section is set and uses colours that resolve.
// All problems are reported, each naming the theme, the section and the value.
func Validate(t *Theme) error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("theme %q: "+format, append([]any{t.Name}, args...)...))
	}
	if t.Name == "" {
		bad("name is missing")
	}
	for _, k := range slices.Sorted(maps.Keys(t.Palette)) {
		if _, _, _, err := ParseHex(t.Palette[k]); err != nil {
			bad("palette.%s: %v", k, err)
		}
	}
	for _, s := range t.Styles() {
		st := s.Style
		if st == (Style{}) {
			bad("%s: section is missing: give it at least fg", s.Path)
			continue
		}
		for _, c := range []struct{ attr, val string }{{"fg", st.FG}, {"bg", st.BG}} {
			if c.val != "" && t.Resolve(c.val) == "" {
				bad("%s.%s: %q is neither a palette colour nor #rrggbb (palette: %s)",
					s.Path, c.attr, c.val, strings.Join(slices.Sorted(maps.Keys(t.Palette)), ", "))
			}
		}
	}
	return errors.Join(errs...)
}
