package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/incident"
)

// TestE2EIncidentDrillOnTheLab is issue 14's incident as a person lives it
// in the console, in tmux, on the lab: a bad release promoted into prod;
// AppHighErrorRate fires and the notification escape reaches the pane
// (:notify on); acknowledged until resolved, then a note; rolled back,
// the alert resolves and vigil expires the silence; :export writes the
// incident; :handover journals the hand-over, which the next vigil
// process shows at its start. The export names each step, its actor, in
// time order.
func TestE2EIncidentDrillOnTheLab(t *testing.T) {
	needTmux(t)
	bin := vigilBinary(t)
	l := newLogsLab(t, "drill", 2, map[string]string{"dev": "1.0.0", "test": "1.0.0", "preprod": "1.1.0-bad", "prod": "1.0.0"})
	env := labtest.Env(t, "KUBECONFIG", "VIGIL_LAB_ALERTMANAGER_URL")
	rc, err := clientcmd.BuildConfigFromFlags("", env["KUBECONFIG"])
	if err != nil {
		t.Fatal(err)
	}
	kube, err := k8s.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	prodImage := func() string {
		d, err := kube.AppsV1().Deployments(l.namespaces["prod"]).Get(context.Background(), l.app, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return d.Spec.Template.Spec.Containers[0].Image
	}
	waitImage := func(tag string) {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		for !strings.HasSuffix(prodImage(), ":"+tag) {
			if time.Now().After(deadline) {
				t.Fatalf("prod runs %s, not %s, after 90s", prodImage(), tag)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	s := newSandbox(t, l.config)
	tm := startTmux(t, s.env(), 160, 45)
	tm.respawn(consoleArgv(bin, s)...)
	raw := filepath.Join(t.TempDir(), "pane.raw")
	tm.run("pipe-pane", "-t", tm.target, "-o", "cat >> "+raw)
	const wait = 20 * time.Second
	tm.waitText(wait, "4 Alerts")
	tm.keys(":")
	tm.typeText("notify on")
	tm.keys("Enter")
	tm.waitText(wait, "notifications on")

	// 1. The bad release, promoted from preprod into protected prod.
	tm.keys("2")
	tm.waitText(wait, l.app, "1.1.0-bad 2/2 ✓")
	tm.keys("l", "l", "p")
	tm.waitText(wait, "Promote "+l.app+" from preprod to prod?", "Type prod to confirm")
	tm.typeText("prod")
	tm.keys("Enter")
	tm.waitText(wait, "promoted "+l.app+" to prod")
	waitImage("1.1.0-bad")

	// 2. AppHighErrorRate fires; the notification reaches the pane, the
	// window title counts the critical alerts.
	tm.keys("4", "/")
	tm.typeText(fmt.Sprintf(`namespace=%q`, l.namespaces["prod"]))
	tm.keys("Enter")
	where := l.namespaces["prod"] + "/" + l.app
	tm.waitFor("AppHighErrorRate on prod", 3*time.Minute, func(screen string) bool {
		return strings.Contains(screen, "AppHighErrorRate") && strings.Contains(screen, where) && strings.Contains(screen, "firing")
	})
	news := "critical AppHighErrorRate " + where
	waitOSC(t, raw, 10*time.Second, regexp.MustCompile("\x1b\\]9;vigil: [^\a]*"+regexp.QuoteMeta(news)+"[^\a]*\a"),
		regexp.MustCompile("\x1b\\]777;notify;vigil;[^\a]*"+regexp.QuoteMeta(news)+"[^\a]*\a\a"))
	if title := strings.TrimSpace(tm.run("display-message", "-p", "-t", tm.target, "#{pane_title}")); !regexp.MustCompile(`^vigil · [1-9][0-9]* critical$`).MatchString(title) {
		t.Fatalf("window title %q while AppHighErrorRate fires", title)
	}

	// 3. Acknowledged until it resolves, then a note on its incident.
	tm.keys("a")
	tm.waitText(wait, "Acknowledge")
	tm.keys("C-u")
	tm.typeText("bad release in prod, rolling back")
	tm.keys("Tab", "Left", "Left")
	tm.waitText(wait, "until resolved")
	tm.keys("Enter")
	tm.waitText(wait, "acknowledged AppHighErrorRate until it resolves")
	silence := activeSilence(t, env["VIGIL_LAB_ALERTMANAGER_URL"], l.namespaces["prod"])
	tm.keys(":")
	tm.typeText("note 1.1.0-bad fails on nil orders")
	tm.keys("Enter")
	screen := tm.waitText(wait, "noted on incident ")
	id := regexp.MustCompile(`noted on incident (\S+)`).FindStringSubmatch(screen)[1]

	// 4. Rolled back from the alert; it resolves; vigil expires the silence.
	tm.keys("u")
	tm.waitText(wait, "Roll back prod/"+l.app+" from 1.1.0-bad to 1.0.0")
	tm.keys("y")
	tm.waitText(wait, "done: roll back prod/"+l.app)
	waitImage("1.0.0")
	tm.keys("4") // back in the Alerts pane: the rollback showed its rollout
	tm.waitFor("AppHighErrorRate resolved", 4*time.Minute, func(screen string) bool {
		for _, line := range strings.Split(screen, "\n") {
			if strings.Contains(line, "AppHighErrorRate") && strings.Contains(line, "resolved") {
				return true
			}
		}
		return false
	})
	// Any vigil reading this Alertmanager may be the one that expires it
	// (and journals it in its own journal): Alertmanager says it is done.
	ended := waitSilenceExpired(t, env["VIGIL_LAB_ALERTMANAGER_URL"], silence, time.Minute)

	// 5. The export, by the incident's ID: its alert has resolved.
	tm.keys(":")
	tm.typeText("export " + id)
	tm.keys("Enter")
	// The toast names the file; its path, long, may wrap on screen.
	path := filepath.Join(s.state, "vigil", "exports", "incident-"+id+".md")
	tm.waitFor("the export written", time.Minute, func(string) bool {
		b, _ := os.ReadFile(path)
		return strings.Contains(string(b), "## Notes") // its last section
	})
	md, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v\n%s", err, screen)
	}
	checkDrillExport(t, string(md), l.app)
	resolved := regexp.MustCompile(`- Resolved: (\S+ \S+) UTC`).FindStringSubmatch(string(md))
	if resolved == nil {
		t.Fatalf("the export has no resolution time:\n%s", md)
	}
	// Another vigil on this Alertmanager may see the resolution a poll
	// (5 s) before this one journals it, and expire the silence then.
	if at, err := time.Parse("2006-01-02 15:04:05", resolved[1]); err != nil || ended.Before(at.Add(-15*time.Second)) {
		t.Fatalf("the silence ended at %s, before the alert resolved at %s (%v)", ended.UTC(), resolved[1], err)
	}

	// 6. The hand-over, seen once by the next vigil process at its start.
	tm.keys(":")
	tm.typeText("handover rolled back " + l.app + " in prod; 1.1.0-bad must not be promoted again")
	tm.keys("Enter")
	tm.waitText(wait, "hand-over written")
	tm.keys("q")
	if st := tm.exitStatus(10 * time.Second); st != 0 {
		t.Fatalf("vigil exited %d", st)
	}
	// The next on-call, another person, is shown it once.
	next := append([]string{"env", "USER=next"}, consoleArgv(bin, s)...)
	tm.respawn(next...)
	tm.waitText(wait, "Hand-over from e2e")
	tm.keys(":")
	tm.typeText("handover")
	tm.keys("Enter")
	tm.waitText(wait, "Hand-over by e2e", "1.1.0-bad must not be promoted again")
	tm.keys("q")
	if st := tm.exitStatus(10 * time.Second); st != 0 {
		t.Fatalf("vigil exited %d", st)
	}
	tm.respawn(next...)
	tm.waitText(wait, "4 Alerts")
	time.Sleep(3 * time.Second) // the hand-over is read off the first frame
	if screen := tm.capture(); strings.Contains(screen, "Hand-over from") {
		t.Fatalf("the hand-over is shown twice to the same person:\n%s", screen)
	}
	tm.keys("q")
	tm.exitStatus(10 * time.Second)
}

// checkDrillExport checks the exported Markdown holds each step of the
// drill with its actor, the timeline in time order.
func checkDrillExport(t *testing.T, md, app string) {
	t.Helper()
	row := regexp.MustCompile(`(?m)^\| (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) \| ([^|]*) \| (\w+) \| ([^|]*) \|`)
	var kinds []string
	var last time.Time
	for _, m := range row.FindAllStringSubmatch(md[strings.Index(md, "## Timeline"):strings.Index(md, "## Alerts")], -1) {
		at, err := time.Parse("2006-01-02 15:04:05", m[1])
		if err != nil {
			t.Fatal(err)
		}
		if at.Before(last) {
			t.Fatalf("the timeline goes back in time at %q:\n%s", m[0], md)
		}
		last = at
		actor, kind := strings.TrimSpace(m[2]), m[3]
		switch incident.Kind(kind) {
		case incident.KindPromote, incident.KindAck, incident.KindNote, incident.KindRollback:
			if actor != "e2e" {
				t.Errorf("%s by %q, want e2e: %s", kind, actor, m[0])
			}
		}
		kinds = append(kinds, kind)
	}
	want := []incident.Kind{incident.KindFiring, incident.KindAck, incident.KindNote, incident.KindRollback, incident.KindResolved}
	at := 0
	for _, k := range kinds {
		if at < len(want) && incident.Kind(k) == want[at] {
			at++
		}
	}
	if at < len(want) {
		t.Fatalf("the timeline %v lacks %v in that order:\n%s", kinds, want[at:], md)
	}
	for _, s := range []string{"AppHighErrorRate (critical)", "1.1.0-bad fails on nil orders", "Time to acknowledge | ", "```promql", app} {
		if !strings.Contains(md, s) {
			t.Errorf("the export lacks %q:\n%s", s, md)
		}
	}
	if strings.Contains(md, "| Time to mitigate | not done |") || strings.Contains(md, "still firing") {
		t.Errorf("the export does not show the mitigation and the end:\n%s", md)
	}
}

// waitOSC waits until the bytes written to the pane hold a match of each
// of wants (OSC 9 and 777, the latter followed by the bell).
func waitOSC(t *testing.T, path string, timeout time.Duration, wants ...*regexp.Regexp) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		b, _ := os.ReadFile(path)
		var missing *regexp.Regexp
		for _, w := range wants {
			if !w.Match(b) {
				missing = w
				break
			}
		}
		if missing == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pane got no %q after %s; its OSC sequences: %q", missing, timeout,
				regexp.MustCompile("\x1b\\][^\a\x1b]*\a").FindAll(b, 20))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitSilenceExpired waits until Alertmanager at url says the silence has
// expired, and returns its end.
func waitSilenceExpired(t *testing.T, url, id string, timeout time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(timeout)
	state := ""
	for {
		var sil struct {
			EndsAt time.Time              `json:"endsAt"`
			Status struct{ State string } `json:"status"`
		}
		resp, err := http.Get(url + "/api/v2/silence/" + id)
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&sil)
			resp.Body.Close()
			state = sil.Status.State
		}
		if state == "expired" {
			return sil.EndsAt
		}
		if time.Now().After(deadline) {
			t.Fatalf("silence %s is %q after %s (%v)", id, state, timeout, err)
		}
		time.Sleep(time.Second)
	}
}

// activeSilence is the ID of the one active silence in Alertmanager at url
// that matches namespace, marked until resolved.
func activeSilence(t *testing.T, url, namespace string) string {
	t.Helper()
	resp, err := http.Get(url + "/api/v2/silences?filter=" + neturl.QueryEscape(fmt.Sprintf("namespace=%q", namespace)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sils []struct {
		ID      string                 `json:"id"`
		Comment string                 `json:"comment"`
		Status  struct{ State string } `json:"status"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&sils); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range sils {
		if s.Status.State == "active" && strings.Contains(s.Comment, incident.UntilResolvedMark) {
			ids = append(ids, s.ID)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("%d active silences until resolved on %s: %v", len(ids), namespace, sils)
	}
	return ids[0]
}
