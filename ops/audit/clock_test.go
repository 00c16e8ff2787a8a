package audit

import (
	"testing"
	"time"

	"github.com/vigilops/vigil/internal/testclock"
)

func TestAppendStampsWithTheJournalsClock(t *testing.T) {
	j, _ := openTemp(t)
	now := testclock.Epoch()
	j.Now = func() time.Time { return now }
	e, err := j.Append(Entry{Actor: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if !e.Time.Equal(now) {
		t.Errorf("stamped %v, want the journal's clock %v", e.Time, now)
	}
	got, err := j.Query(Query{Since: now, Until: now.Add(1)})
	if err != nil || len(got) != 1 || got[0].Seq != e.Seq {
		t.Errorf("query at the clock's time: %+v, %v", got, err)
	}
}
