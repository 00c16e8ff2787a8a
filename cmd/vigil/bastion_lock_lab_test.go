package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/release"
)

// bastionLockTTL is the promotion locks' TTL (kubernetes.lock_ttl) in the
// bastion tests: short, so that a lock left by a killed vigil runs out
// within the test.
const bastionLockTTL = 6 * time.Second

// runningVigil is a vigil process started by startVigil, still running.
type runningVigil struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  strings.Builder // stdout and stderr, as they come
	seen chan string     // each line, as it comes
	done chan struct{}   // closed once both pipes are drained
}

// startVigil starts actor's vigil with args, on the bastion named bastion
// ($VIGIL_BASTION), with the extra environment env.
func (l *raceLab) startVigil(t *testing.T, actor, bastion string, env []string, args ...string) *runningVigil {
	t.Helper()
	cmd := exec.Command(vigilBinary(t), append([]string{"--config", l.configPath(actor)}, args...)...)
	cmd.Env = append(append(os.Environ(), "VIGIL_BASTION="+bastion), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	v := &runningVigil{cmd: cmd, seen: make(chan string, 1024), done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	var wg sync.WaitGroup
	for _, r := range []io.Reader{stdout, stderr} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := bufio.NewScanner(r)
			for sc.Scan() {
				v.mu.Lock()
				v.out.WriteString(sc.Text() + "\n")
				v.mu.Unlock()
				select {
				case v.seen <- sc.Text():
				default:
				}
			}
		}()
	}
	go func() { wg.Wait(); close(v.done) }()
	return v
}

func (v *runningVigil) output() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.out.String()
}

// waitLine waits for a line containing want, or fails.
func (v *runningVigil) waitLine(t *testing.T, want string, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case line := <-v.seen:
			if strings.Contains(line, want) {
				return
			}
		case <-v.done:
			_ = v.cmd.Wait()
			t.Fatalf("vigil ended (%v) before saying %q:\n%s", v.cmd.ProcessState, want, v.output())
		case <-deadline:
			t.Fatalf("vigil did not say %q within %s:\n%s", want, within, v.output())
		}
	}
}

// runVigil runs actor's vigil with args on bastion to its end.
func (l *raceLab) runVigil(t *testing.T, actor, bastion string, args ...string) outcome {
	t.Helper()
	v := l.startVigil(t, actor, bastion, nil, args...)
	select {
	case <-v.done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("%s's vigil %q did not end within 2 minutes:\n%s", actor, args, v.output())
	}
	err := v.cmd.Wait()
	if _, exited := err.(*exec.ExitError); err != nil && !exited {
		t.Fatalf("%s's vigil: %v", actor, err)
	}
	return outcome{code: v.cmd.ProcessState.ExitCode(), out: v.output()}
}

// noDuplicates fails when an entry is twice in a journal: two entries of
// one sequence number or idempotency key (the shared journal's ID), or of
// one time, actor, action, target and result.
func noDuplicates(t *testing.T, who string, entries []audit.Entry) {
	t.Helper()
	keys := map[string]bool{}
	for _, e := range entries {
		for _, k := range []string{
			fmt.Sprint("seq ", e.Seq),
			"id " + e.ID,
			fmt.Sprint(e.Time.UnixNano(), e.Actor, e.Action, e.Target, e.Result),
		} {
			if k == "id " {
				continue
			}
			if keys[k] {
				t.Fatalf("%s's journal holds an entry twice (%s): %+v", who, k, entries)
			}
			keys[k] = true
		}
	}
}

// TestBastionKilledMidPromotion plays faults 2 and 3 of running several
// bastions. alice promotes web into test through bastion-a; her vigil
// stops in the middle of the promotion (applied and journaled, its lock
// held, its rollout not waited for: VIGIL_TEST_ONLY_HOLD_PROMOTION).
// Fault 2: bob, through bastion-b, promotes web's next release into test:
// he is refused (exit 3, journaled as refused), told that alice holds the
// lock, through bastion-a, for a promotion, since and until when. Fault 3:
// alice's vigil is killed with -9. Until her Lease runs out, bob is
// refused the same way; then his promotion takes the lock and goes
// through. alice's journal holds her promotion, once, and still once
// after her vigil starts again. No lock is left behind.
func TestBastionKilledMidPromotion(t *testing.T) {
	l := newRaceLab(t, "alice", "bob")
	for _, actor := range l.actors {
		f, err := os.OpenFile(l.configPath(actor), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.WriteString("  lock_ttl: " + bastionLockTTL.String() + "\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	promote := []string{"promote", raceApp, "--to", "test", "--wait"}

	a := l.startVigil(t, "alice", "bastion-a", []string{testHoldEnv + "=1"}, promote...)
	a.waitLine(t, "holding the promotion of "+raceApp+" to test", time.Minute)
	if img := l.deployment(t, "test").Spec.Template.Spec.Containers[0].Image; img != raceImage("1.1.0") {
		t.Fatalf("alice's promotion was not applied: test runs %s", img)
	}
	lease, err := l.cs.CoordinationV1().Leases(l.ns["test"]).Get(ctx, "vigil-promote-"+raceApp, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("alice's promotion holds no lock: %v", err)
	}
	if h := *lease.Spec.HolderIdentity; h != "alice on bastion-a" || lease.Annotations["vigil.dev/lock-bastion"] != "bastion-a" || lease.Annotations["vigil.dev/lock-action"] != "promote from dev" {
		t.Fatalf("the lock names %q %v, want alice on bastion-a promoting", h, lease.Annotations)
	}
	expires := lease.Spec.RenewTime.Add(time.Duration(*lease.Spec.LeaseDurationSeconds) * time.Second)

	// dev moves on: bob has something to promote.
	l.setImage(t, "dev", "1.2.0")
	l.waitSettled(t, "dev")
	seen := map[string]int{}
	const lockedBy = "locked by alice on bastion-a (promote from dev) since "
	refused := func(round int, o outcome) bool {
		t.Helper()
		checkNoRawAPI(t, round, "bob", o.out)
		fresh := l.newEntries(t, round, "bob", seen)
		if o.code != release.ExitRefused {
			return false
		}
		if !strings.Contains(o.out, lockedBy) || !strings.Contains(o.out, " until ") {
			t.Fatalf("round %d: bob was refused without naming alice, bastion-a, since and until when:\n%s", round, o.out)
		}
		if len(fresh) != 1 || fresh[0].Result != audit.Refused || !strings.Contains(fresh[0].Error, lockedBy) {
			t.Fatalf("round %d: bob's journal has %+v, want one refusal naming alice on bastion-a", round, fresh)
		}
		return true
	}

	// Fault 2: alice's promotion is in flight through bastion-a.
	if o := l.runVigil(t, "bob", "bastion-b", promote...); !refused(0, o) {
		t.Fatalf("bob was not refused while alice promotes (exit %d):\n%s", o.code, o.out)
	}

	// bob's vigil shows the lock: holder, bastion, action, since, until.
	if o := l.runVigil(t, "bob", "bastion-b", "status", "--json"); o.code != 0 {
		t.Fatalf("bob's vigil status: exit %d:\n%s", o.code, o.out)
	} else {
		var m release.Matrix
		if err := json.Unmarshal([]byte(o.out), &m); err != nil {
			t.Fatalf("bob's vigil status --json: %v:\n%s", err, o.out)
		}
		var lock *release.LockedError
		for _, e := range m.Envs {
			if e.Name == "test" {
				lock = e.LockOf(raceApp)
			}
		}
		if lock == nil || lock.Holder != "alice on bastion-a" || lock.Bastion != "bastion-a" || lock.Action != "promote from dev" ||
			!lock.Since.Equal(lease.Spec.AcquireTime.Time) || !lock.Until.Equal(expires) {
			t.Fatalf("bob's vigil shows the lock of test as %+v, want alice's until %s:\n%s", lock, expires, o.out)
		}
	}

	// Fault 3: bastion-a dies in the middle of the promotion.
	if err := a.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = a.cmd.Wait()
	killed := time.Now()
	if len(l.journal(t, "alice")) != 1 {
		t.Fatalf("alice's journal after the kill: %+v", l.journal(t, "alice"))
	}

	var took time.Time
	var won outcome
	for round := 1; took.IsZero(); round++ {
		if time.Since(killed) > bastionLockTTL+time.Minute {
			t.Fatalf("bob never took the lock, %s after alice's vigil was killed", time.Since(killed))
		}
		o := l.runVigil(t, "bob", "bastion-b", promote...)
		switch {
		case refused(round, o):
			// Refused only while the Lease lasts (the API server's
			// clock is this machine's in the lab: a second of slack).
			if time.Now().After(expires.Add(2 * time.Second)) {
				t.Fatalf("round %d: bob refused at %s, after alice's lock expired at %s:\n%s", round, time.Now().Format(time.RFC3339Nano), expires.Format(time.RFC3339Nano), o.out)
			}
			time.Sleep(500 * time.Millisecond)
		case o.code == 0:
			took, won = time.Now(), o
		default:
			t.Fatalf("round %d: bob's promotion: exit %d:\n%s", round, o.code, o.out)
		}
	}
	if !strings.Contains(won.out, "promoted "+raceApp+" to test") || !strings.Contains(won.out, "rollout of "+raceApp+" in test complete") {
		t.Fatalf("bob's promotion after the lock expired:\n%s", won.out)
	}
	if took.Before(expires) {
		t.Fatalf("bob took alice's lock at %s, before it expired at %s", took, expires)
	}
	bobs := l.journal(t, "bob")
	last := bobs[len(bobs)-1]
	if last.Result != audit.OK || last.Parameters["image.app"] != raceImage("1.1.0")+" -> "+raceImage("1.2.0") {
		t.Fatalf("bob's journal ends with %+v, want his promotion from 1.1.0 to 1.2.0", last)
	}
	noDuplicates(t, "bob", bobs)
	t.Logf("alice's vigil killed %s before her lock expired; bob took it %s after the kill (%s after it expired, one vigil process per try, 0.5 s apart)",
		expires.Sub(killed).Round(time.Millisecond), took.Sub(killed).Round(time.Millisecond), took.Sub(expires).Round(time.Millisecond))

	// The journal holds alice's entries up to the kill, once; her vigil
	// started again adds nothing: there is nothing left to promote.
	check := func(when string) {
		t.Helper()
		entries := l.journal(t, "alice")
		if len(entries) != 1 || entries[0].Result != audit.OK || entries[0].Actor != "alice" ||
			entries[0].Parameters["image.app"] != raceImage("1.0.0")+" -> "+raceImage("1.1.0") {
			t.Fatalf("%s, alice's journal holds %+v, want her one promotion", when, entries)
		}
		noDuplicates(t, "alice", entries)
	}
	check("after the kill")
	if o := l.runVigil(t, "alice", "bastion-a", promote...); o.code != 0 || !strings.Contains(o.out, "nothing to promote") {
		t.Fatalf("alice's vigil, started again: exit %d:\n%s", o.code, o.out)
	}
	check("after alice's vigil started again")
	l.noLease(t, 0, "test")
}
