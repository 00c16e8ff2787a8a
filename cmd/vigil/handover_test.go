package main

import (
	"strings"
	"testing"

	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/incident"
)

// A hand-over from the command line: journaled with its text, the open
// incident of the journal and what could not be known, then shown again;
// refused in read-only mode.
func TestHandoverVerb(t *testing.T) {
	path, _ := incidentConfig(t)
	j, err := audit.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	// HostDown on web-02 fires and has not resolved: an open incident.
	if _, err := j.Append(audit.Entry{Actor: "alertmanager", Action: incident.FiringEntry, Target: "alert/fp2", Result: audit.OK,
		Parameters: map[string]string{"alertname": "HostDown", "host": "web-02"}}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	code, _, errOut := cli(t, "handover", "--show")
	if code != 1 || !strings.Contains(errOut, "no hand-over has been written yet") {
		t.Fatalf("--show before any: exit %d, %s", code, errOut)
	}
	code, out, errOut := cli(t, "handover", "--text", "api rolled back; watch it")
	if code != 0 || !strings.Contains(out, "Hand-over by alice") || !strings.Contains(out, "api rolled back; watch it") ||
		!strings.Contains(out, "Kubernetes is not configured") || !strings.Contains(out, "HostDown on web-02, open since") {
		t.Fatalf("handover: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = cli(t, "handover", "--show", "--markdown")
	if code != 0 || !strings.HasPrefix(out, "## Hand-over by alice") || !strings.Contains(out, "> api rolled back; watch it") {
		t.Fatalf("--show --markdown: exit %d\n%s", code, out)
	}
	if code, _, errOut := cli(t, "--read-only", "handover", "--text", "x"); code != 3 || !strings.Contains(errOut, "read-only") {
		t.Fatalf("read-only: exit %d, %s", code, errOut)
	}
	if code, _, errOut := cli(t, "handover", "--show", "--text", "x"); code != 2 || !strings.Contains(errOut, "give one of the two") {
		t.Fatalf("--show --text: exit %d, %s", code, errOut)
	}
}
