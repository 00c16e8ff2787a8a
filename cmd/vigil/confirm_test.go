package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/release"
)

// screen is what a pseudo-terminal showed, read as it arrives.
type screen struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// onTerminal runs act on a fresh pseudo-terminal (its stdin, stdout and
// stderr) as a person at it: once prompt shows, it types answer and
// enter. It returns act's result and what the terminal showed. A prompt
// that never shows fails the test.
func onTerminal[T any](t *testing.T, prompt, answer string, act func(tty io.ReadWriter) T) (T, string) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	var shown screen
	copied := make(chan struct{})
	go func() {
		_, _ = io.Copy(&shown, ptmx) // ends with EIO once tty is closed
		close(copied)
	}()
	result := make(chan T, 1)
	go func() { result <- act(tty) }()
	var got T
	deadline := time.After(60 * time.Second)
	typed := false
	for done := false; !done; {
		select {
		case got = <-result:
			done = true
		case <-deadline:
			tty.Close()
			t.Fatalf("no answer after 60 s; the terminal shows:\n%s", shown.String())
		case <-time.After(10 * time.Millisecond):
			if !typed && strings.Contains(shown.String(), prompt) {
				if _, err := ptmx.Write([]byte(answer + "\n")); err != nil {
					t.Fatal(err)
				}
				typed = true
			}
		}
	}
	tty.Close()
	select {
	case <-copied:
	case <-time.After(5 * time.Second):
	}
	if !typed {
		t.Fatalf("the prompt %q never showed; the terminal shows:\n%s", prompt, shown.String())
	}
	return got, shown.String()
}

// On a real terminal, the confirmer asks the console's question and takes
// only the protected environment's name typed in full; the refusal it
// returns is journaled as refused. Without a terminal it refuses at once.
func TestConfirmerOnATerminal(t *testing.T) {
	c := (&release.PromotePlan{App: "api", From: release.Env{Name: "preprod"}, To: release.Env{Name: "prod", Protected: true}}).Confirmation()
	const prompt = "Promote api from preprod to prod? Type prod to confirm: "
	actor := access.Actor{Name: "alice", Role: access.Operator}
	for _, tc := range []struct {
		answer string
		ok     bool
	}{{"y", false}, {"prod ", true}, {"production", false}, {"PROD", false}, {"prod", true}} {
		t.Run(tc.answer, func(t *testing.T) {
			j := &journalSpy{}
			err, shown := onTerminal(t, prompt, tc.answer, func(tty io.ReadWriter) error {
				k := &confirmer{ctx: context.Background(), actor: actor, journal: j, terminal: isTerminal(tty), in: tty, out: tty}
				return k.confirm(c)
			})
			if (err == nil) != tc.ok {
				t.Fatalf("answer %q: %v; the terminal shows:\n%s", tc.answer, err, shown)
			}
			if tc.ok {
				if len(j.entries) != 0 {
					t.Fatalf("a confirmed action was journaled by the confirmer: %q", j.entries)
				}
				return
			}
			if !access.IsRefusal(err) || release.ExitCode(err) != release.ExitRefused ||
				!strings.Contains(err.Error(), "promote to a protected environment prod/api: not confirmed: nothing was done; type prod when asked on a terminal, or pass --yes") {
				t.Fatalf("answer %q: %v", tc.answer, err)
			}
			if want := "alice promote to a protected environment prod/api refused"; len(j.entries) != 1 || j.entries[0] != want {
				t.Fatalf("journal %q, want %q", j.entries, want)
			}
		})
	}

	j := &journalSpy{}
	k := &confirmer{ctx: context.Background(), actor: actor, journal: j, in: strings.NewReader("prod\n"), out: io.Discard}
	if err := k.confirm(c); !access.IsRefusal(err) || !strings.Contains(err.Error(), "no terminal to ask on") || len(j.entries) != 1 {
		t.Fatalf("no terminal: %v, journal %q", err, j.entries)
	}
	k.yes = true
	if err := k.confirm(c); err != nil {
		t.Fatalf("--yes: %v", err)
	}
	// Not dangerous: promoting into an unprotected environment asks nothing.
	k.yes = false
	plain := (&release.PromotePlan{App: "api", From: release.Env{Name: "dev"}, To: release.Env{Name: "test"}}).Confirmation()
	if err := k.confirm(plain); err != nil {
		t.Fatalf("an action not declared dangerous was refused: %v", err)
	}
	// An actor the guard refuses is not asked: ops refuses and journals.
	k.guard = access.Guard{ReadOnly: true}
	if err := k.confirm(c); err != nil || len(j.entries) != 1 {
		t.Fatalf("read-only: %v, journal %q", err, j.entries)
	}
}

// journalSpy records what is journaled, as "actor action target result".
type journalSpy struct{ entries []string }

func (j *journalSpy) Record(ctx context.Context, actor access.Actor, action, target string, _ map[string]string, err error) error {
	j.entries = append(j.entries, fmt.Sprintf("%s %s %s %s", actor.Name, action, target, audit.ResultOf(ctx, err)))
	return nil
}

// TestUnackOnATerminal drives `vigil unack` on a pseudo-terminal against a
// real Alertmanager: n refuses (exit 3) and leaves the silence, y expires it.
func TestUnackOnATerminal(t *testing.T) {
	dir := sandbox(t)
	amURL := startAlertmanager(t)
	alertsConfig(t, dir, amURL)
	res, err := http.Post(amURL+"/api/v2/alerts", "application/json", strings.NewReader(
		`[{"labels":{"alertname":"TTYProbe","severity":"warning"},"annotations":{"summary":"probe of the prompt"}}]`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	code, out, errOut := cli(t, "ack", "--match", `alertname="TTYProbe"`, "--for", "1h", "--comment", "on it")
	if code != 0 {
		t.Fatalf("ack: exit %d\n%s%s", code, out, errOut)
	}
	silence := strings.TrimSpace(out[strings.LastIndex(out, "silence ")+len("silence "):])
	prompt := "Expire silence " + silence + "? [y/N] "
	unack := func(tty io.ReadWriter) int { return run([]string{"unack", silence}, tty, tty, tty) }

	code, shown := onTerminal(t, prompt, "n", unack)
	if code != release.ExitRefused || strings.Contains(shown, "expired silence") ||
		!strings.Contains(shown, "expire a silence silence/"+silence+": not confirmed: nothing was done; answer y when asked on a terminal, or pass --yes") {
		t.Fatalf("unack answered n: exit %d; the terminal shows:\n%s", code, shown)
	}
	if state := silenceState(t, amURL, silence); state != "active" {
		t.Fatalf("a declined unack left the silence %s", state)
	}
	// stdout redirected: the question goes to the terminal on stderr.
	var redirected bytes.Buffer
	code, shown = onTerminal(t, prompt, "no", func(tty io.ReadWriter) int { return run([]string{"unack", silence}, tty, &redirected, tty) })
	if code != release.ExitRefused || !strings.Contains(shown, "not confirmed: nothing was done") || redirected.Len() != 0 {
		t.Fatalf("unack with stdout redirected, answered no: exit %d, stdout %q; the terminal shows:\n%s", code, redirected.String(), shown)
	}
	code, shown = onTerminal(t, prompt, "y", unack)
	if code != 0 || !strings.Contains(shown, "expired silence "+silence) {
		t.Fatalf("unack answered y: exit %d; the terminal shows:\n%s", code, shown)
	}
	if state := silenceState(t, amURL, silence); state != "expired" {
		t.Fatalf("a confirmed unack left the silence %s", state)
	}

	j, err := audit.Open(filepath.Join(dir, "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	entries, err := j.Query(audit.Query{})
	if err != nil {
		t.Fatal(err)
	}
	var results []string
	for _, e := range entries {
		results = append(results, e.Action+" "+string(e.Result))
	}
	if got, want := strings.Join(results, "|"), "alert.ack ok|alert.unack refused|alert.unack refused|alert.unack ok"; got != want {
		t.Fatalf("journal %q, want %q", got, want)
	}
}

// silenceState asks Alertmanager for a silence's state: active, expired…
func silenceState(t *testing.T, amURL, id string) string {
	t.Helper()
	res, err := http.Get(amURL + "/api/v2/silence/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var s struct {
		Status struct{ State string }
	}
	if err := json.NewDecoder(res.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s.Status.State
}
