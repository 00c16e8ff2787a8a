package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/audit"
)

// startAlertmanager runs an Alertmanager of the test's own, without
// gossip, and returns its URL.
func startAlertmanager(t *testing.T) string {
	t.Helper()
	bin := labtest.Tool(t, "prometheus-alertmanager", "prometheus-alertmanager")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	writeFile(t, cfg, "route: {receiver: none}\nreceivers: [{name: none}]\n")
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--cluster.listen-address=")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	url := "http://" + addr
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if res, err := http.Get(url + "/-/ready"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return url
			}
		}
	}
	t.Fatalf("alertmanager on %s not ready after 20 s", addr)
	return ""
}

func alertsConfig(t *testing.T, dir, amURL string) {
	t.Helper()
	path := filepath.Join(dir, "vigil.yaml")
	writeFile(t, path, fmt.Sprintf("identity: {name: carol, role: operator}\nalertmanager:\n  urls: [%q]\naudit:\n  path: %q\n",
		amURL, filepath.Join(dir, "journal.db")))
	t.Setenv("VIGIL_CONFIG", path)
}

// TestAlertVerbs lists, acknowledges and unacknowledges an alert of a
// real Alertmanager with the CLI, as an operator and in read-only mode.
func TestAlertVerbs(t *testing.T) {
	dir := sandbox(t)
	amURL := startAlertmanager(t)
	alertsConfig(t, dir, amURL)
	res, err := http.Post(amURL+"/api/v2/alerts", "application/json", strings.NewReader(
		`[{"labels":{"alertname":"CLIProbe","severity":"warning","namespace":"prod","deployment":"api"},"annotations":{"summary":"probe of the CLI"}}]`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()

	// Listing works beside a console that has the journal open.
	held, err := audit.Open(filepath.Join(dir, "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := cli(t, "alerts")
	held.Close()
	if code != 0 || !strings.Contains(out, "SEVERITY") || !strings.Contains(out, "CLIProbe") || !strings.Contains(out, "prod/api") || !strings.Contains(out, "probe of the CLI") {
		t.Fatalf("vigil alerts: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = cli(t, "alerts", "--json", "--filter", `alertname="CLIProbe",namespace=~"pro.*"`)
	var listed []struct {
		Fingerprint, State string
		Workload           string
	}
	if err := json.Unmarshal([]byte(out), &listed); code != 0 || err != nil || len(listed) != 1 || listed[0].Workload != "prod/api" || listed[0].State != "firing" {
		t.Fatalf("vigil alerts --json: exit %d, %v\n%s%s", code, err, out, errOut)
	}
	fp := listed[0].Fingerprint
	if code, out, _ := cli(t, "alerts", "--json", "--filter", `alertname="Other"`); code != 0 || strings.TrimSpace(out) != "[]" {
		t.Fatalf("a filter matching nothing: exit %d, %q", code, out)
	}
	if code, _, errOut := cli(t, "alerts", "--filter", `alertname=~"(`); code != 1 || !strings.Contains(errOut, "bad --filter") {
		t.Fatalf("a bad filter: exit %d, %s", code, errOut)
	}

	if code, _, errOut := cli(t, "--read-only", "ack", fp, "--for", "1h", "--comment", "on it"); code != 3 || !strings.Contains(errOut, "read-only") {
		t.Fatalf("ack in read-only mode: exit %d, %s", code, errOut)
	}
	if code, _, errOut := cli(t, "ack", "--for", "1h", "--comment", "on it"); code == 0 || !strings.Contains(errOut, "FINGERPRINT or --match") {
		t.Fatalf("ack without a target: exit %d, %s", code, errOut)
	}
	code, out, errOut = cli(t, "ack", fp, "--for", "1h", "--comment", "on it")
	if code != 0 || !strings.Contains(out, "acknowledged by carol until") {
		t.Fatalf("vigil ack: exit %d\n%s%s", code, out, errOut)
	}
	silence := strings.TrimSpace(out[strings.LastIndex(out, "silence ")+len("silence "):])
	if code, out, _ := cli(t, "alerts"); code != 0 || !strings.Contains(out, "acknowledged by carol") || !strings.Contains(out, silence) {
		t.Fatalf("vigil alerts after ack: exit %d\n%s", code, out)
	}
	// Expiring a silence is dangerous: with no terminal to ask on, only
	// --yes does it.
	if code, out, errOut := cli(t, "unack", silence); code != 3 || strings.Contains(out, "expired") ||
		!strings.Contains(errOut, "expire a silence silence/"+silence+": not confirmed, there is no terminal to ask on: nothing was done; answer y when asked on a terminal, or pass --yes") {
		t.Fatalf("vigil unack without --yes: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := cli(t, "alerts"); code != 0 || !strings.Contains(out, "acknowledged by carol") {
		t.Fatalf("an unack refused expired the silence: exit %d\n%s", code, out)
	}
	if code, out, errOut := cli(t, "unack", silence, "--yes"); code != 0 || !strings.Contains(out, "expired silence "+silence) {
		t.Fatalf("vigil unack --yes: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := cli(t, "alerts"); code != 0 || strings.Contains(out, "acknowledged") {
		t.Fatalf("vigil alerts after unack: exit %d\n%s", code, out)
	}
	if code, out, errOut := cli(t, "ack", "--match", `alertname="CLIProbe"`, "--for", "30m", "--comment", "all of them"); code != 0 || !strings.Contains(out, "silence ") {
		t.Fatalf("vigil ack --match: exit %d\n%s%s", code, out, errOut)
	}

	code, out, _ = cli(t, "audit", "--json")
	for _, want := range []string{`"alert.ack"`, `"alert.unack"`, `"refused"`, `"carol"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the journal lacks %s:\n%s", want, out)
		}
	}
}

func TestAlertsUnreachable(t *testing.T) {
	dir := sandbox(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close()
	alertsConfig(t, dir, dead)
	code, _, errOut := cli(t, "alerts")
	if code != 1 || !strings.Contains(errOut, "Alertmanager unreachable") {
		t.Fatalf("unreachable Alertmanager: exit %d, %s", code, errOut)
	}
	sandbox(t)
	if code, _, errOut := cli(t, "alerts"); code != 1 || !strings.Contains(errOut, "no prometheus or alertmanager section") {
		t.Fatalf("no alerts configured: exit %d, %s", code, errOut)
	}
}

// TestSecondAckNamesTheFirst: a second `vigil ack` of an acknowledged
// alert makes no second silence: it exits 3 naming who holds it, with
// what and until when; --extend and --add-comment act on that silence.
func TestSecondAckNamesTheFirst(t *testing.T) {
	dir := sandbox(t)
	amURL := startAlertmanager(t)
	alertsConfig(t, dir, amURL)
	res, err := http.Post(amURL+"/api/v2/alerts", "application/json", strings.NewReader(
		`[{"labels":{"alertname":"CLIProbe","severity":"warning","droplet":"web-02"}}]`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	code, out, errOut := cli(t, "alerts", "--json")
	var listed []struct{ Fingerprint string }
	if err := json.Unmarshal([]byte(out), &listed); code != 0 || err != nil || len(listed) != 1 {
		t.Fatalf("vigil alerts --json: exit %d, %v\n%s%s", code, err, out, errOut)
	}
	fp := listed[0].Fingerprint
	if code, out, errOut := cli(t, "ack", fp, "--for", "1h", "--comment", "rebooting web-02"); code != 0 {
		t.Fatalf("carol's ack: exit %d\n%s%s", code, out, errOut)
	}

	// dave, on the same bastion.
	path := filepath.Join(dir, "vigil.yaml")
	writeFile(t, path, fmt.Sprintf("identity: {name: dave, role: operator}\nalertmanager:\n  urls: [%q]\naudit:\n  path: %q\n", amURL, filepath.Join(dir, "journal.db")))
	code, out, errOut = cli(t, "ack", fp, "--for", "30m", "--comment", "me too")
	if code != 3 || !strings.Contains(errOut, "already acknowledged by carol until") || !strings.Contains(errOut, `"rebooting web-02"`) ||
		!strings.Contains(errOut, "vigil ack "+fp+" --extend") {
		t.Fatalf("dave's second ack: exit %d, want 3 naming carol's\n%s%s", code, out, errOut)
	}
	if code, out, errOut = cli(t, "ack", fp, "--extend", "--for", "4h", "--comment", "vendor ticket 4411"); code != 0 || !strings.Contains(out, "added to carol's acknowledgement") {
		t.Fatalf("dave extends: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut = cli(t, "ack", fp, "--add-comment", "--for", "1m", "--comment", "DNS is fine"); code != 0 {
		t.Fatalf("dave comments: exit %d\n%s%s", code, out, errOut)
	}
	res, err = http.Get(amURL + "/api/v2/silences")
	if err != nil {
		t.Fatal(err)
	}
	var sils []struct {
		EndsAt    time.Time `json:"endsAt"`
		CreatedBy string    `json:"createdBy"`
		Comment   string    `json:"comment"`
		Status    struct{ State string }
	}
	err = json.NewDecoder(res.Body).Decode(&sils)
	res.Body.Close()
	if err != nil || len(sils) != 1 || sils[0].Status.State != "active" || sils[0].CreatedBy != "carol" ||
		sils[0].Comment != "rebooting web-02 · dave: vendor ticket 4411 · dave: DNS is fine" || time.Until(sils[0].EndsAt) < 3*time.Hour {
		t.Fatalf("want carol's one silence, extended to 4 h, with dave's comments: %+v %v", sils, err)
	}
	code, out, _ = cli(t, "audit", "--json", "--actor", "dave")
	if code != 0 || !strings.Contains(out, `"refused"`) || !strings.Contains(out, `"holder":"carol"`) {
		t.Fatalf("the journal keeps dave's refusal with the holder:\n%s", out)
	}
}

// TestTwoAckProcessesAtOnce: carol and dave, each with vigil on their own
// bastion (their own config and journal), run `vigil ack` on the same alert
// at the same moment, as two processes, for 50 alerts: one exits 0, the
// other 3 naming the winner, and journals the refusal as refused with the
// winner as holder; one silence per alert.
func TestTwoAckProcessesAtOnce(t *testing.T) {
	dir := sandbox(t)
	amURL := startAlertmanager(t)
	const races = 50
	var alerts []string
	for i := range races {
		alerts = append(alerts, fmt.Sprintf(`{"labels":{"alertname":"CLIRace","severity":"warning","race":"%d"}}`, i))
	}
	res, err := http.Post(amURL+"/api/v2/alerts", "application/json", strings.NewReader("["+strings.Join(alerts, ",")+"]"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	names := []string{"carol", "dave"}
	configs, journals := map[string]string{}, map[string]string{}
	for _, name := range names {
		configs[name] = filepath.Join(dir, name+".yaml")
		journals[name] = filepath.Join(dir, name+"-journal.db")
		writeFile(t, configs[name], fmt.Sprintf("identity: {name: %s, role: operator}\nalertmanager:\n  urls: [%q]\naudit:\n  path: %q\n",
			name, amURL, journals[name]))
	}
	code, out, errOut := cli(t, "--config", configs["carol"], "alerts", "--json")
	var listed []struct {
		Fingerprint string
		Labels      map[string]string
	}
	if err := json.Unmarshal([]byte(out), &listed); code != 0 || err != nil || len(listed) != races {
		t.Fatalf("vigil alerts --json: exit %d, %v\n%s%s", code, err, out, errOut)
	}
	journaled := func(name string) []audit.Entry {
		j, err := audit.Open(journals[name])
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		entries, err := j.Query(audit.Query{})
		if err != nil {
			t.Fatal(err)
		}
		return entries
	}
	seen := map[string]int{}
	for _, a := range listed {
		args := map[string][]string{}
		for _, name := range names {
			args[name] = []string{"--config", configs[name], "ack", a.Fingerprint, "--for", "30m", "--comment", name + " on race " + a.Labels["race"]}
		}
		outs := together(t, args)
		winner, loser := names[0], names[1]
		if outs[winner].code != 0 {
			winner, loser = loser, winner
		}
		if outs[winner].code != 0 || outs[loser].code != 3 || !strings.Contains(outs[loser].out, "already acknowledged by "+winner) {
			t.Fatalf("race %s: want exit 0 and exit 3 naming the winner; carol: %d %s; dave: %d %s", a.Labels["race"], outs["carol"].code, outs["carol"].out, outs["dave"].code, outs["dave"].out)
		}
		for _, name := range names {
			all := journaled(name)
			fresh := all[seen[name]:]
			seen[name] = len(all)
			want := audit.OK
			if name == loser {
				want = audit.Refused
			}
			if len(fresh) != 1 || fresh[0].Result != want || (name == loser && fresh[0].Parameters["holder"] != winner) {
				t.Fatalf("race %s: %s journaled %+v, want one %s entry", a.Labels["race"], name, fresh, want)
			}
		}
	}
	res, err = http.Get(amURL + "/api/v2/silences")
	if err != nil {
		t.Fatal(err)
	}
	var sils []struct{ Status struct{ State string } }
	err = json.NewDecoder(res.Body).Decode(&sils)
	res.Body.Close()
	active := 0
	for _, s := range sils {
		if s.Status.State == "active" {
			active++
		}
	}
	if err != nil || active != races {
		t.Fatalf("%d active silences for %d alerts (%v)", active, races, err)
	}
}
