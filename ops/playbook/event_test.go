package playbook

import (
	"bufio"
	"errors"
	"os"
	"strings"
	"testing"
)

func recording(t testing.TB) [][]byte {
	t.Helper()
	f, err := os.Open("testdata/run.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, append([]byte(nil), sc.Bytes()...))
	}
	return out
}

func parseAll(t *testing.T) []Event {
	var all []Event
	for _, l := range recording(t) {
		evs, err := ParseLine(l)
		if err != nil {
			t.Fatalf("%v in %s", err, l)
		}
		all = append(all, evs...)
	}
	return all
}

// run.jsonl is ansible-playbook's real output with ansible.posix.jsonl for a
// play with ok, changed, failed, skipped, ignored and rescued results.
func TestParseRecording(t *testing.T) {
	evs := parseAll(t)
	find := func(host, task string) Event {
		for _, e := range evs {
			if e.Kind == KindResult && e.Host == host && e.Task == task {
				return e
			}
		}
		t.Fatalf("no result for %s / %s", host, task)
		return Event{}
	}
	if e := evs[0]; e.Kind != KindPlay || e.Play != "sample" || e.Time.IsZero() {
		t.Fatalf("first event %+v, want the play start", e)
	}
	if e := find("b", "fail on b"); e.Status != StatusFailed || e.Msg != "b is flaky" || e.Action != "fail" {
		t.Errorf("failure: %+v", e)
	}
	if e := find("a", "fail on b"); e.Status != StatusSkipped || e.Msg != "Conditional result was False" {
		t.Errorf("skip: %+v", e)
	}
	if e := find("a", "echo"); e.Status != StatusChanged || e.Stdout != "hi" {
		t.Errorf("command: %+v", e)
	}
	if e := find("a", "write config"); e.Status != StatusChanged || !strings.Contains(e.Diff, "+x=a") {
		t.Errorf("diff: %+v", e)
	}
	if e := find("a", "ignored failure"); e.Status != StatusFailed || e.Stderr != "oops" {
		t.Errorf("ignored failure: %+v", e)
	}
	last := evs[len(evs)-1]
	want := map[string]Recap{
		"a": {OK: 4, Changed: 3, Skipped: 1, Rescued: 1, Ignored: 1},
		"b": {OK: 1, Changed: 1, Failed: 1},
	}
	if last.Kind != KindStats || last.Recap["a"] != want["a"] || last.Recap["b"] != want["b"] {
		t.Fatalf("recap %+v, want %+v", last.Recap, want)
	}
}

func TestParseLineRejects(t *testing.T) {
	cases := []struct {
		name, line string
		notEvent   bool
	}{
		{"empty", "", true},
		{"screen text", "PLAY [all] ****", true},
		{"other json", `{"x":1}`, true},
		{"truncated", `{"_event":"v2_runner_on_ok","hosts":{"a":{"changed":tr`, false},
		{"host not an object", `{"_event":"v2_runner_on_ok","hosts":{"a":5}}`, false},
		{"task start without task", `{"_event":"v2_playbook_on_task_start"}`, false},
		{"msg of the wrong type", `{"_event":"v2_runner_on_ok","hosts":{"a":{"stdout":7}}}`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			evs, err := ParseLine([]byte(c.line))
			if err == nil || errors.Is(err, ErrNotEvent) != c.notEvent || evs != nil {
				t.Fatalf("got %v, %v", evs, err)
			}
		})
	}
	if evs, err := ParseLine([]byte(`{"_event":"v2_playbook_on_include"}`)); err != nil || evs != nil {
		t.Fatalf("an event vigil does not follow: %v, %v", evs, err)
	}
}

func TestParseClipsHugeOutput(t *testing.T) {
	big := strings.Repeat("y", 3*maxField)
	evs, err := ParseLine([]byte(`{"_event":"v2_runner_on_ok","task":{"id":"1","name":"t"},"hosts":{"a":{"stdout":"` + big + `"}}}`))
	if err != nil || len(evs) != 1 || len(evs[0].Stdout) > maxField+64 || !strings.Contains(evs[0].Stdout, "more bytes cut") {
		t.Fatalf("%v, stdout of %d bytes", err, len(evs[0].Stdout))
	}
}

func FuzzParseLine(f *testing.F) {
	for _, l := range recording(f) {
		f.Add(l)
		f.Add(l[:len(l)/2])
		f.Add(l[:len(l)-1])
	}
	f.Add([]byte("garbage \x00\xff"))
	f.Add([]byte(`{"_event":"v2_runner_on_failed","hosts":{"":{"msg":{"a":[1]},"diff":{"before":1}}}}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		evs, err := ParseLine(line)
		if err != nil && evs != nil {
			t.Fatal("events with an error")
		}
		for _, e := range evs {
			switch e.Kind {
			case KindResult:
				switch e.Status {
				case StatusOK, StatusChanged, StatusFailed, StatusSkipped, StatusUnreachable:
				default:
					t.Fatalf("result with status %q", e.Status)
				}
			case KindPlay, KindTask:
			case KindStats:
				if e.Recap == nil {
					t.Fatal("stats without a recap")
				}
			default:
				t.Fatalf("kind %q", e.Kind)
			}
			for _, s := range []string{e.Msg, e.Stdout, e.Stderr} {
				if len(s) > maxField+64 {
					t.Fatalf("field of %d bytes escaped the clip", len(s))
				}
			}
		}
	})
}
