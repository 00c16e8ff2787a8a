package kubernetes

import (
	"bufio"
	"strings"
	"testing"
	"time"
)

// FuzzSplitTimestamp: any line from the kubelet splits without a panic; a
// line with a time keeps all its text after the first space, one without
// is all text.
func FuzzSplitTimestamp(f *testing.F) {
	for _, s := range []string{
		"2026-12-07T17:25:02.974776588Z GET / 200",
		"2026-12-07T17:25:02Z ",
		"2026-12-07T17:25:02.974776588Z",
		"no time here",
		"",
		" leading space",
		"2026-13-45T99:99:99Z bad time",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		at, text := splitTimestamp(line)
		if at.IsZero() {
			if text != line {
				t.Fatalf("no time, but the text %q is not the line %q", text, line)
			}
			return
		}
		ts, rest, _ := strings.Cut(line, " ")
		if want, err := time.Parse(time.RFC3339Nano, ts); err != nil || !want.Equal(at) || text != rest {
			t.Fatalf("line %q: time %s text %q", line, at, text)
		}
	})
}

// TestReadLineOfAnyLength: lines longer than the reader's buffer come
// whole, and the last line may lack its newline.
func TestReadLineOfAnyLength(t *testing.T) {
	long := strings.Repeat("x", 100_000)
	br := bufio.NewReaderSize(strings.NewReader("a\n"+long+"\nlast"), 16)
	for _, want := range []string{"a", long, "last"} {
		got, err := readLine(br)
		if got != want {
			t.Fatalf("line of %d bytes, want %d (%v)", len(got), len(want), err)
		}
	}
	if _, err := readLine(br); err == nil {
		t.Fatal("no EOF after the last line")
	}
}
