package components

import (
	"fmt"
	"strings"
	"unicode"
)

// Command is one parsed palette line: a command name and its arguments.
type Command struct {
	Name string
	Args []string
}

// ParseCommand parses a palette line such as `theme dark` or
// `:promote api "prod eu"`. Words are separated by spaces; single quotes
// keep their content as is, double quotes allow \" and \\ inside, and a
// backslash outside quotes escapes the next character. A leading ':' is
// optional.
func ParseCommand(line string) (Command, error) {
	words, _, err := splitWords(strings.TrimPrefix(strings.TrimLeftFunc(line, unicode.IsSpace), ":"))
	if err != nil {
		return Command{}, err
	}
	if len(words) == 0 {
		return Command{}, fmt.Errorf("no command: type a command name, like theme or quit (tab completes)")
	}
	name := words[0]
	if !validName(name) {
		return Command{}, fmt.Errorf("%q is not a command name: names are lower-case letters, digits and -, like theme", name)
	}
	c := Command{Name: name}
	if len(words) > 1 {
		c.Args = words[1:]
	}
	return c, nil
}

func validName(s string) bool {
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z':
		case i > 0 && (r >= '0' && r <= '9' || r == '-'):
		default:
			return false
		}
	}
	return s != ""
}

// splitWords splits s into words. open reports whether s ends inside a
// word (no trailing space), which completion uses to know whether the
// last word is still being typed.
func splitWords(s string) (words []string, open bool, err error) {
	var (
		cur     strings.Builder
		inWord  bool
		quote   rune // 0, '\'' or '"'
		quoteAt int
		escaped bool
	)
	col := 0
	for _, r := range s {
		col++
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case quote == '\'':
			if r == '\'' {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case quote == '"':
			switch r {
			case '"':
				quote = 0
			case '\\':
				escaped = true
			default:
				cur.WriteRune(r)
			}
		case r == '\\':
			escaped, inWord = true, true
		case r == '\'' || r == '"':
			quote, quoteAt, inWord = r, col, true
		case unicode.IsSpace(r):
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	switch {
	case quote != 0:
		return nil, false, fmt.Errorf("unterminated %c quote at column %d: close it with %c", quote, quoteAt, quote)
	case escaped:
		return nil, false, fmt.Errorf("the line ends with a lone backslash: remove it or escape it as \\\\")
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, inWord, nil
}
