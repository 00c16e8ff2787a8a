package components

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseCommand(t *testing.T) {
	cases := []struct {
		line string
		want Command
		err  string // substring of the error, "" for none
	}{
		{"theme dark", Command{"theme", []string{"dark"}}, ""},
		{":theme   dark  ", Command{"theme", []string{"dark"}}, ""},
		{"  :quit", Command{"quit", nil}, ""},
		{`promote api "prod eu"`, Command{"promote", []string{"api", "prod eu"}}, ""},
		{`echo 'a "b" c'`, Command{"echo", []string{`a "b" c`}}, ""},
		{`echo "a \"b\" \\c"`, Command{"echo", []string{`a "b" \c`}}, ""},
		{`echo a\ b`, Command{"echo", []string{"a b"}}, ""},
		{`echo ""`, Command{"echo", []string{""}}, ""},
		{`echo x"y z"w`, Command{"echo", []string{"xy zw"}}, ""},
		{"ctx-2 x", Command{"ctx-2", []string{"x"}}, ""},
		{"", Command{}, "no command"},
		{":", Command{}, "no command"},
		{"   ", Command{}, "no command"},
		{`echo "open`, Command{}, `unterminated " quote at column 6`},
		{`echo 'open`, Command{}, `unterminated ' quote`},
		{`echo a\`, Command{}, "lone backslash"},
		{"Theme dark", Command{}, `"Theme" is not a command name`},
		{"2fa", Command{}, "not a command name"},
		{"-x", Command{}, "not a command name"},
	}
	for _, c := range cases {
		got, err := ParseCommand(c.line)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseCommand(%q) error = %v, want it to contain %q", c.line, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseCommand(%q): %v", c.line, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseCommand(%q) = %#v, want %#v", c.line, got, c.want)
		}
	}
}

// FuzzParseCommand checks that any line parses or fails cleanly, and that
// a parsed command survives quoting its words and parsing again.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"theme dark", `:promote api "prod eu"`, `echo 'a b' c\ d`, `x "\"`, ":", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		cmd, err := ParseCommand(line)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if !validName(cmd.Name) {
			t.Fatalf("parsed invalid name %q", cmd.Name)
		}
		quoted := cmd.Name
		for _, a := range cmd.Args {
			quoted += " '" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		again, err := ParseCommand(quoted)
		if err != nil {
			t.Fatalf("re-parse of %q: %v", quoted, err)
		}
		if again.Name != cmd.Name || len(again.Args) != len(cmd.Args) {
			t.Fatalf("round trip of %q: %#v became %#v", line, cmd, again)
		}
		for i := range cmd.Args {
			if again.Args[i] != cmd.Args[i] {
				t.Fatalf("round trip of %q: arg %d %q became %q", line, i, cmd.Args[i], again.Args[i])
			}
		}
	})
}
