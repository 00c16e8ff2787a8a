package notify

import "testing"

func TestNotifyCoalescesAndCancelCloses(t *testing.T) {
	var s Subscribers
	a, cancelA := s.Subscribe()
	b, cancelB := s.Subscribe()
	defer cancelB()
	s.Notify()
	s.Notify() // coalesced with the first: never blocks
	for name, ch := range map[string]<-chan struct{}{"a": a, "b": b} {
		select {
		case <-ch:
		default:
			t.Fatalf("%s was not woken", name)
		}
		select {
		case <-ch:
			t.Fatalf("%s was woken twice for two changes it had not read yet", name)
		default:
		}
	}
	cancelA()
	cancelA() // twice is harmless
	if _, open := <-a; open {
		t.Fatal("a's channel is open after its cancel")
	}
	s.Notify()
	select {
	case <-b:
	default:
		t.Fatal("b was not woken after a left")
	}
}
