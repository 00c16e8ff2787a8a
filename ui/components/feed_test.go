package components

import (
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
)

type changedMsg struct{}

func TestFeedWaitsForEachChange(t *testing.T) {
	f := NewFeed()
	changes := make(chan struct{}, 1)
	cancelled := 0
	if !f.Subscribed(changes, func() { cancelled++ }) {
		t.Fatal("an open feed refused its subscription")
	}
	changes <- struct{}{}
	if msg := f.WaitCmd(func() tea.Msg { return changedMsg{} })(); msg != (changedMsg{}) {
		t.Fatalf("after a change the wait sent %#v", msg)
	}
	got := make(chan tea.Msg, 1)
	cmd := f.WaitCmd(func() tea.Msg { return changedMsg{} })
	go func() { got <- cmd() }()
	f.Close()
	f.Close() // twice is harmless
	select {
	case msg := <-got:
		if msg != nil {
			t.Fatalf("the ended wait sent %#v", msg)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the wait outlived Close")
	}
	if cancelled != 1 || !f.Closed() {
		t.Fatalf("Close cancelled the subscription %d times, closed %v; want once, true", cancelled, f.Closed())
	}
}

func TestFeedRefusesASubscriptionAfterClose(t *testing.T) {
	f := NewFeed()
	f.Close()
	cancelled := false
	if f.Subscribed(make(chan struct{}), func() { cancelled = true }) || !cancelled {
		t.Fatalf("a subscription that came after Close was kept (cancelled %v)", cancelled)
	}
	if msg := f.WaitCmd(func() tea.Msg { return changedMsg{} })(); msg != nil {
		t.Fatalf("the wait of a closed feed sent %#v", msg)
	}
}

// A service that closes its channel (it stopped) ends the wait with no
// message: nothing re-arms it, so no loop spins on the closed channel.
func TestFeedEndsWhenTheServiceClosesItsChannel(t *testing.T) {
	f := NewFeed()
	changes := make(chan struct{})
	f.Subscribed(changes, func() {})
	close(changes)
	if msg := f.WaitCmd(func() tea.Msg { return changedMsg{} })(); msg != nil {
		t.Fatalf("a closed channel woke the pane with %#v", msg)
	}
}
