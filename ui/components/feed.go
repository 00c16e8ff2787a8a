package components

import tea "charm.land/bubbletea/v2"

// Feed is a pane's subscription to a service's change notifications. Init
// opens the subscription in a command, Update hands it to Subscribed and
// re-arms WaitCmd after each change, and Close ends both the subscription
// and the wait, so that an ended session leaves no goroutine behind.
type Feed struct {
	changes <-chan struct{}
	cancel  func()
	done    chan struct{}
}

// NewFeed returns a feed not yet subscribed.
func NewFeed() *Feed { return &Feed{done: make(chan struct{})} }

// Subscribed takes the subscription Init opened. Once the feed is closed
// it cancels the subscription instead, and returns false.
func (f *Feed) Subscribed(changes <-chan struct{}, cancel func()) bool {
	if f.Closed() { // the session ended before the subscription came
		cancel()
		return false
	}
	f.changes, f.cancel = changes, cancel
	return true
}

// WaitCmd waits for the next change and returns next's message, or nil
// once the feed is closed or the service closed its channel (then nothing
// re-arms it).
func (f *Feed) WaitCmd(next func() tea.Msg) tea.Cmd {
	changes, done := f.changes, f.done
	return func() tea.Msg {
		select {
		case _, ok := <-changes:
			if !ok {
				return nil
			}
			return next()
		case <-done:
			return nil
		}
	}
}

// Close ends the subscription and the wait on it; closing twice is
// harmless.
func (f *Feed) Close() {
	if f.Closed() {
		return
	}
	close(f.done)
	if f.cancel != nil {
		f.cancel()
	}
}

// Closed reports whether Close was called.
func (f *Feed) Closed() bool {
	select {
	case <-f.done:
		return true
	default:
		return false
	}
}
