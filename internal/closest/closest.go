// Package closest finds the words close to a mistyped one, by edit
// distance: for "did you mean" in config errors and the command palette.
// A word is close only when few edits make it: a subsequence ("ssh" in
// "snapshot") is not close.
package closest

import (
	"cmp"
	"slices"
	"strings"
)

// Distance is the Levenshtein distance between a and b, over runes: the
// fewest insertions, deletions and substitutions that turn a into b.
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// MaxFor is how many edits still make a word close to s: 2, and 1 for
// words of up to 4 runes, where 2 edits change half the word.
func MaxFor(s string) int {
	if len([]rune(s)) <= 4 {
		return 1
	}
	return 2
}

// Within returns the candidates at most max edits from s, case ignored,
// nearest first (then in their order); a candidate is never close when it
// takes as many edits as it has runes.
func Within(s string, candidates []string, max int) []string {
	type hit struct {
		word string
		dist int
	}
	var hits []hit
	ls := strings.ToLower(s)
	for _, c := range candidates {
		d := Distance(ls, strings.ToLower(c))
		if d <= max && d < len([]rune(c)) {
			hits = append(hits, hit{c, d})
		}
	}
	slices.SortStableFunc(hits, func(a, b hit) int { return cmp.Compare(a.dist, b.dist) })
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.word
	}
	return out
}

// Close returns the candidates close to s (within MaxFor(s) edits),
// nearest first.
func Close(s string, candidates []string) []string { return Within(s, candidates, MaxFor(s)) }
