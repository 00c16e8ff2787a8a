package inventory

import (
	"context"
	"errors"
	"testing"
	"time"
)

type windowMetrics struct{ got Window }

func (m *windowMetrics) HostFigures(_ context.Context, host string, w Window) (HostFigures, error) {
	m.got = w
	return HostFigures{Host: host, Window: w, LastScrape: w.End.Add(-20 * time.Second)}, nil
}

func TestHostFiguresOverTheLastHourOfTheServiceClock(t *testing.T) {
	if _, err := New(nil, nil, Options{Now: fixedNow}).HostFigures(context.Background(), "web-1"); !errors.Is(err, ErrNoMetrics) {
		t.Fatalf("without Prometheus: %v", err)
	}
	m := &windowMetrics{}
	f, err := New(nil, nil, Options{Now: fixedNow, Metrics: m}).HostFigures(context.Background(), "web-1")
	if err != nil {
		t.Fatal(err)
	}
	now := fixedNow()
	if m.got != (Window{Start: now.Add(-time.Hour), End: now, Step: 30 * time.Second}) || f.Host != "web-1" {
		t.Fatalf("window %+v, figures of %s", m.got, f.Host)
	}
	if d := f.SinceScrape(now); d != 20*time.Second {
		t.Fatalf("since the last scrape: %v", d)
	}
	if d := (HostFigures{}).SinceScrape(now); d != -1 {
		t.Fatalf("never scraped: %v", d)
	}
}
