// Package notify wakes a service's subscribers after each change.
package notify

import "sync"

// Subscribers are the channels a service wakes after each change. A wake is
// coalesced (one pending value at most), so that a slow subscriber never
// blocks the service. The zero value is ready to use.
type Subscribers struct {
	mu   sync.Mutex
	next int
	subs map[int]chan struct{}
}

// Subscribe returns a channel that receives a value after each Notify, and
// a function ending it that closes the channel; calling it twice is
// harmless.
func (s *Subscribers) Subscribe() (<-chan struct{}, func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.subs == nil {
		s.subs = map[int]chan struct{}{}
	}
	id := s.next
	s.next++
	ch := make(chan struct{}, 1)
	s.subs[id] = ch
	return ch, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if c, ok := s.subs[id]; ok {
			close(c)
			delete(s.subs, id)
		}
	}
}

// Notify wakes every subscriber that has no wake pending.
func (s *Subscribers) Notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ch := range s.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}
