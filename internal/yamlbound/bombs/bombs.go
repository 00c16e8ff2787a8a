// Package bombs holds YAML bombs for the tests of every package that reads
// users' YAML (see internal/yamlbound).
package bombs

import (
	"fmt"
	"strings"
)

// Each bomb is under 1 KB and expands past yamlbound.MaxNodes, the last
// level under the key "bomb" so that a decoder following it does the whole
// expansion.
var (
	// BillionLaughs nests lists of aliases nine deep: 10^9 values.
	BillionLaughs = laughs()
	// MergeBomb nests mappings of repeated merge keys (<<) seven deep.
	MergeBomb = merges()
)

func laughs() string {
	var b strings.Builder
	b.WriteString(`l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]` + "\n")
	for i := 1; i <= 8; i++ {
		fmt.Fprintf(&b, "l%d: &l%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d,", i-1), 10), ","))
	}
	b.WriteString("bomb: [*l8, *l8, *l8, *l8, *l8, *l8, *l8, *l8, *l8, *l8]\n")
	return b.String()
}

func merges() string {
	var b strings.Builder
	b.WriteString("m0: &m0 {a: x, b: x, c: x, d: x}\n")
	for i := 1; i <= 6; i++ {
		fmt.Fprintf(&b, "m%d: &m%d {%s}\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("<<: *m%d, ", i-1), 12), ", "))
	}
	b.WriteString("bomb: {" + strings.TrimSuffix(strings.Repeat("<<: *m6, ", 12), ", ") + "}\n")
	return b.String()
}
