package app

import (
	"fmt"
	"testing"
	"time"

	"github.com/vigilops/vigil/ops/audit"
)

// BenchmarkShellView draws the Activity pane, full of entries, at 200×60.
func BenchmarkShellView(b *testing.B) {
	opts := testOptions(b, nil)
	for i := range 2000 {
		if _, err := opts.Journal.Append(audit.Entry{Time: fixedNow.Add(-time.Duration(i) * time.Second),
			Actor: fmt.Sprintf("user%d", i%7), Action: "promote", Target: fmt.Sprintf("prod/app-%d", i%40), Result: audit.OK}); err != nil {
			b.Fatal(err)
		}
	}
	m := New(opts)
	drive(m, m.Init())
	resize(m, 200, 60)
	press(m, "5", "j", "j")
	m.View() // fill the row cache, as the first frame after a change does
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		_ = m.View()
	}
}
