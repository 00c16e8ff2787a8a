package audit

import (
	"encoding/json"

	"github.com/fsnotify/fsnotify"
	bolt "go.etcd.io/bbolt"
)

// subscriberBuffer is how many entries a subscriber may fall behind before
// it misses some.
const subscriberBuffer = 256

// Subscribe returns a live feed of entries appended from now on, by this
// process and by the others that share the file, and a function that ends
// it. This process's entries arrive as Append returns; the others' as soon
// as the file changes (a watch on it, no timer). The feed is buffered; a
// subscriber that falls more than its buffer behind misses entries (Append
// never waits for it) and can catch up with Query. The channel is closed by
// cancel or by Close.
//
// When the file cannot be watched (the system's inotify limits), the feed
// carries this process's entries only, and the next Subscribe tries again.
func (j *Journal) Subscribe() (<-chan Entry, func()) {
	j.mu.Lock()
	defer j.mu.Unlock()
	ch := make(chan Entry, subscriberBuffer)
	if j.closed {
		close(ch)
		return ch, func() {}
	}
	id := j.nextID
	j.nextID++
	j.subs[id] = ch
	if j.feed == nil && j.remote == nil { // the shared journal's feed always runs
		j.feed = j.watch()
	}
	return ch, func() {
		j.mu.Lock()
		c, ok := j.subs[id]
		if !ok {
			j.mu.Unlock()
			return
		}
		close(c)
		delete(j.subs, id)
		var f *feed
		if len(j.subs) == 0 {
			f = j.detachFeed()
		}
		j.mu.Unlock()
		f.stop()
	}
}

// publish hands e to every subscriber; j.mu is held.
func (j *Journal) publish(e Entry) {
	for _, ch := range j.subs {
		select {
		case ch <- e:
		default: // a slow subscriber misses entries rather than stalling Append
		}
	}
}

// publishOwn publishes an entry this process appended, and tells the feed,
// which will meet it in the file, that it went out already. j.ops is held
// exclusively, so the feed has not read past it yet.
func (j *Journal) publishOwn(e Entry) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if f := j.feed; f != nil && e.Seq > f.seen {
		f.own[e.Seq] = true
	}
	j.publish(e)
}

// feed follows the file for entries appended by other processes.
type feed struct {
	w    *fsnotify.Watcher
	done chan struct{} // closed when follow returns

	// Fields below change under Journal.mu; follow alone writes seen.
	seen uint64          // the highest Seq read from the file
	own  map[uint64]bool // this process's entries above seen, published already
}

// watch starts a feed from the file's current last Seq; j.mu is held. It
// returns nil when the file cannot be watched or read.
func (j *Journal) watch() *feed {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil
	}
	// Watch first, then read where the file ends: an entry written in
	// between is announced by the watch.
	f := &feed{w: w, done: make(chan struct{}), own: map[uint64]bool{}}
	if err := w.Add(j.path); err != nil {
		w.Close()
		return nil
	}
	if err := j.view(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucket); b != nil {
			f.seen = b.Sequence()
		}
		return nil
	}); err != nil {
		w.Close()
		return nil
	}
	go j.follow(f)
	return f
}

// detachFeed takes the feed from j, for the caller to stop once it has
// released j.mu; j.mu is held.
func (j *Journal) detachFeed() *feed {
	f := j.feed
	j.feed = nil
	return f
}

// stop ends f and waits for its goroutine; nil is stopped already.
func (f *feed) stop() {
	if f == nil {
		return
	}
	f.w.Close()
	<-f.done
}

// follow reads the entries appended after each change of the file, until
// the watch ends. Changes that come during a catch-up are served by one
// more catch-up, however many they are.
func (j *Journal) follow(f *feed) {
	defer close(f.done)
	for {
		select {
		case ev, ok := <-f.w.Events:
			if !ok {
				return
			}
			if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
				j.fileGone(f)
				return
			}
		case _, ok := <-f.w.Errors: // an overflow loses events, not entries: catch up
			if !ok {
				return
			}
		}
	drain:
		for {
			select {
			case _, ok := <-f.w.Events:
				if !ok {
					return
				}
			default:
				break drain
			}
		}
		j.catchUp(f)
	}
}

// fileGone ends a feed whose file was removed or replaced: nothing more will
// come through its watch. A later Subscribe watches the file at the path.
func (j *Journal) fileGone(f *feed) {
	j.mu.Lock()
	if j.feed == f {
		j.feed = nil
	}
	j.mu.Unlock()
	f.w.Close()
}

// catchUp publishes the entries after f.seen that this process did not
// append, a bounded batch at a time. A failed read is retried at the next
// change.
func (j *Journal) catchUp(f *feed) {
	j.ops.RLock()
	defer j.ops.RUnlock()
	for {
		batch, err := j.after(f.seen, subscriberBuffer)
		if err != nil || len(batch) == 0 {
			return
		}
		j.mu.Lock()
		if j.feed != f {
			j.mu.Unlock()
			return
		}
		for _, e := range batch {
			f.seen = e.Seq
			if f.own[e.Seq] {
				delete(f.own, e.Seq)
				continue
			}
			j.publish(e)
		}
		j.mu.Unlock()
		if len(batch) < subscriberBuffer {
			return
		}
	}
}

// after reads up to n entries whose Seq is above seq, in Seq order.
func (j *Journal) after(seq uint64, n int) ([]Entry, error) {
	var out []Entry
	err := j.view(func(tx *bolt.Tx) error {
		entries, idx := tx.Bucket(bucket), tx.Bucket(seqBucket)
		if entries == nil || idx == nil {
			return nil // a file another process is creating again
		}
		c := idx.Cursor()
		for k, v := c.Seek(seqKey(seq + 1)); k != nil && len(out) < n; k, v = c.Next() {
			// An entry missing or unreadable is skipped: Query reports it.
			var e Entry
			if raw := entries.Get(v); raw != nil && json.Unmarshal(raw, &e) == nil {
				out = append(out, e)
			}
		}
		return nil
	})
	return out, err
}
