package podlogs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func testPod(image string, ready bool, restarts int32) *corev1.Pod {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "api-1", Namespace: "dev", UID: "u1", Labels: map[string]string{"app.kubernetes.io/name": "api"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "api", Image: image}}},
		Status: corev1.PodStatus{
			Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: status}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "api", RestartCount: restarts}},
		},
	}
}

// newTestWriter is a writer over a temp dir whose clock moves a tick per
// call of traffic, driven by the test (no informer, no cluster).
func newTestWriter(t *testing.T, maxBytes int64) (*Writer, *time.Time) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	w := &Writer{Dir: t.TempDir(), MaxBytes: maxBytes, Tick: time.Second, Now: func() time.Time { return now }, Logf: t.Logf, pods: map[string]*pod{}}
	return w, &now
}

func (w *Writer) addTest(t *testing.T, p *corev1.Pod) *pod {
	t.Helper()
	st, err := w.add(p)
	if err != nil {
		t.Fatal(err)
	}
	w.pods[p.Namespace+"/"+p.Name] = st
	st.ready = podReady(p)
	return st
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// Files never grow past MaxBytes however long the lab runs, and every line
// is in the runtime's format with times that only go forward.
func TestWriterRotatesAndKeepsTime(t *testing.T) {
	w, now := newTestWriter(t, 256<<10)
	st := w.addTest(t, testPod("registry/shop/api:2.5.0-bad", true, 0))
	path := filepath.Join(st.dir, "api.log")
	var last time.Time
	var errs, oks int
	for range 600 { // ten minutes
		*now = now.Add(time.Second)
		w.traffic()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > w.MaxBytes {
			t.Fatalf("log file is %d bytes, over %d", fi.Size(), w.MaxBytes)
		}
	}
	for _, l := range readLines(t, path) {
		fields := strings.SplitN(l, " ", 4)
		at, err := time.Parse(time.RFC3339Nano, fields[0])
		if err != nil || (fields[1] != "stdout" && fields[1] != "stderr") || fields[2] != "F" {
			t.Fatalf("not a CRI log line: %q", l)
		}
		if !at.After(last) || at.After(*now) {
			t.Fatalf("line at %s after one at %s (now %s)", at, last, *now)
		}
		last = at
		switch {
		case strings.Contains(l, AccessMarker+"500 "):
			errs++
		case strings.Contains(l, AccessMarker+"200 "):
			oks++
		}
	}
	ratio := float64(errs) / float64(errs+oks)
	if ratio < 0.15 || ratio > 0.25 {
		t.Fatalf("%d of %d requests failed, want about %v", errs, errs+oks, BadErrorRatio)
	}
	w.closeAll()
}

// A broken image crashes at each restart: the previous file holds the
// crash of the container before, the current one the latest.
func TestWriterCrashBeforeRestart(t *testing.T) {
	w, now := newTestWriter(t, DefaultMaxBytes)
	st := w.addTest(t, testPod("registry/shop/api:2.5.0-broken", false, 0))
	*now = now.Add(time.Second)
	w.traffic()                 // not ready, no requests
	*now = now.Add(time.Minute) // the next restart, a minute later
	st.restarts["api"] = 1
	if err := w.restart(st, "api"); err != nil {
		t.Fatal(err)
	}
	cur := readLines(t, filepath.Join(st.dir, "api.log"))
	first, _ := time.Parse(time.RFC3339Nano, strings.Fields(cur[0])[0])
	last, _ := time.Parse(time.RFC3339Nano, strings.Fields(cur[len(cur)-1])[0])
	if now.Sub(first) > 20*time.Millisecond || last.After(*now) {
		t.Fatalf("the new container's lines run from %s to %s: want a burst just before the restart at %s", first, last, *now)
	}
	for _, name := range []string{"api.log", "api.previous.log"} {
		lines := readLines(t, filepath.Join(st.dir, name))
		if !strings.HasSuffix(lines[len(lines)-1], " stdout F exit status 1") || !strings.Contains(strings.Join(lines, "\n"), CrashMarker) {
			t.Errorf("%s does not end with the crash:\n%s", name, strings.Join(lines, "\n"))
		}
		if strings.Contains(strings.Join(lines, "\n"), AccessMarker) {
			t.Errorf("%s has requests of a pod never ready", name)
		}
	}
	w.forget("dev/api-1")
	if _, err := os.Stat(filepath.Dir(st.dir)); !os.IsNotExist(err) {
		t.Fatalf("files of a deleted pod, or its namespace's empty directory, are left: %v", err)
	}
}

// A chatty tag logs 2,000 lines a second over three replicas.
func TestWriterChattyRate(t *testing.T) {
	w, now := newTestWriter(t, 64<<20)
	st := w.addTest(t, testPod("registry/shop/api:2.5.0-chatty", true, 0))
	for range 3 {
		*now = now.Add(time.Second)
		w.traffic()
	}
	if n := len(readLines(t, filepath.Join(st.dir, "api.log"))) - len(st.lines.Boot()); n < 1990 || n > 2001 {
		t.Fatalf("%d lines in 3 s, want 2,000", n)
	}
	w.closeAll()
}
