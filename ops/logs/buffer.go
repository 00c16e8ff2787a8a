package logs

import (
	"sort"
	"time"
)

// DefaultCapacity is how many lines a Buffer keeps when not told.
const DefaultCapacity = 50_000

// Buffer keeps the last lines appended to it, at most its capacity, and
// counts those it dropped to make room: a view's memory stays bounded
// however long it follows (k9s's log view grew to 30 GB in an hour). It
// grows as lines come, up to its capacity, and Reset gives the memory back.
// It is not safe for concurrent use: one view owns it.
type Buffer struct {
	capacity int
	lines    []Line // a ring once full: lines[start] is the oldest
	start    int
	dropped  int64
}

// NewBuffer returns an empty buffer of capacity lines (DefaultCapacity when
// capacity <= 0).
func NewBuffer(capacity int) *Buffer {
	if capacity <= 0 {
		capacity = DefaultCapacity
	}
	return &Buffer{capacity: capacity}
}

// Cap is the most lines the buffer keeps.
func (b *Buffer) Cap() int { return b.capacity }

// Len is how many lines the buffer holds.
func (b *Buffer) Len() int { return len(b.lines) }

// Dropped is how many lines were dropped, the oldest first, to make room
// since the buffer was made or last reset.
func (b *Buffer) Dropped() int64 { return b.dropped }

// Append adds l as the newest line, dropping the oldest when full.
func (b *Buffer) Append(l Line) {
	if len(b.lines) < b.capacity {
		b.lines = append(b.lines, l)
		return
	}
	b.lines[b.start] = l
	b.start++
	if b.start == b.capacity {
		b.start = 0
	}
	b.dropped++
}

// At returns the i-th line held, 0 the oldest, Len()-1 the newest. It
// panics when i is out of range, as a slice does.
func (b *Buffer) At(i int) Line {
	if i < 0 || i >= len(b.lines) {
		panic("logs.Buffer.At: index out of range")
	}
	i += b.start
	if i >= len(b.lines) {
		i -= len(b.lines)
	}
	return b.lines[i]
}

// Lines calls fn with lines from..to-1 (0 the oldest) in order, until fn
// returns false.
func (b *Buffer) Lines(from, to int, fn func(i int, l Line) bool) {
	from, to = max(from, 0), min(to, len(b.lines))
	for i := from; i < to; i++ {
		if !fn(i, b.At(i)) {
			return
		}
	}
}

// Search returns the index of the first line held at or after t (Len()
// when none is), for a jump to the time of an alert. Lines of several pods
// arrive nearly, not strictly, in time order: the search is binary, so
// the line found is the first at or after t up to that disorder. Events
// without a time are skipped over.
func (b *Buffer) Search(t time.Time) int {
	return sort.Search(len(b.lines), func(i int) bool {
		for j := i; j < len(b.lines); j++ {
			if l := b.At(j); !l.Time.IsZero() {
				return !l.Time.Before(t)
			}
		}
		return true
	})
}

// Reset empties the buffer and releases its memory; the count of dropped
// lines starts again from zero.
func (b *Buffer) Reset() {
	b.lines = nil
	b.start = 0
	b.dropped = 0
}
