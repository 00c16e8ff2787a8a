package components

import (
	"strings"
	"unicode"
)

// Printable replaces control characters, which would move the cursor or
// restyle the terminal, in text that comes from outside: labels,
// annotations, errors, free text people typed.
func Printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
}
