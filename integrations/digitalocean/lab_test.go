package digitalocean_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilops/vigil/integrations/digitalocean"
	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/inventory"
)

var alice = access.Actor{Name: "alice", Role: access.Operator, Source: "local"}

type lab struct {
	url, token string
	client     *digitalocean.Client
}

func newLab(t *testing.T) lab {
	t.Helper()
	env := labtest.Env(t, "DIGITALOCEAN_API_URL", "DIGITALOCEAN_ACCESS_TOKEN")
	l := lab{url: env["DIGITALOCEAN_API_URL"], token: env["DIGITALOCEAN_ACCESS_TOKEN"]}
	c, err := digitalocean.New(digitalocean.Options{APIURL: l.url, Token: l.token, PollInterval: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	l.client = c
	return l
}

// fault arms the emulator's fault switch; the test clears it when done.
func (l lab) fault(t *testing.T, body string) {
	t.Helper()
	do := func(method, body string) {
		req, _ := http.NewRequest(method, strings.TrimSuffix(l.url, "/")+"/_lab/faults", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+l.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Fatalf("%s /_lab/faults: %s", method, resp.Status)
		}
	}
	do("POST", body)
	t.Cleanup(func() { do("DELETE", "") })
}

// cleanupTag destroys every droplet tagged tag, protected or not, when the
// test ends.
func (l lab) cleanupTag(t *testing.T, tag string) {
	t.Cleanup(func() {
		ctx := context.Background()
		hs, err := l.client.Hosts(ctx, tag)
		if err != nil {
			t.Errorf("cleanup: %v", err)
		}
		for _, h := range hs {
			if err := l.client.Destroy(ctx, h.ID); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
		vs, _ := l.client.Volumes(ctx)
		for _, v := range vs {
			if strings.HasPrefix(v.Name, tag) {
				l.client.DestroyVolume(ctx, v.ID)
			}
		}
	})
}

func TestLabFaultsAndToken(t *testing.T) {
	l := newLab(t)
	var mu sync.Mutex
	var waits []string
	c, err := digitalocean.New(digitalocean.Options{APIURL: l.url, Token: l.token, OnWait: func(reason string, d time.Duration) {
		mu.Lock()
		waits = append(waits, fmt.Sprintf("%s %s", reason, d))
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// The fault switch is shared: another client of the lab may take some
	// of the failures, so the test asks for at least one of them.
	l.fault(t, `{"status":429,"count":3,"retry_after":1}`)
	start := time.Now()
	if _, err := c.Sizes(ctx); err != nil {
		t.Fatalf("after 429s: %v", err)
	}
	if len(waits) == 0 || time.Since(start) < time.Duration(len(waits))*time.Second || !strings.HasPrefix(waits[0], "HTTP 429 1s") {
		t.Fatalf("took %s with waits %q, want 1s waits for each 429", time.Since(start), waits)
	}

	waits = nil
	l.fault(t, `{"status":503,"count":2}`)
	if _, err := c.Sizes(ctx); err != nil {
		t.Fatalf("after two 503s: %v", err)
	}
	if len(waits) == 0 || !strings.HasPrefix(waits[0], "HTTP 503") {
		t.Fatalf("waits %q, want 503 retries", waits)
	}

	bad, err := digitalocean.New(digitalocean.Options{APIURL: l.url, Token: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.Hosts(ctx, "")
	if err == nil || !strings.Contains(err.Error(), "rejected the token") || !strings.Contains(err.Error(), "digitalocean.token") {
		t.Fatalf("wrong token gave %v, want a clear token error", err)
	}
}

func TestLabCreateThreeHostsActionsAndProtectedDestroy(t *testing.T) {
	l := newLab(t)
	tag := fmt.Sprintf("vt%d", time.Now().UnixNano()%1e9)
	l.cleanupTag(t, tag)
	journal, err := audit.Open(filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer journal.Close()
	svc := inventory.New(l.client, journal, inventory.Options{
		PollInterval: 300 * time.Millisecond,
		SSHTimeout:   time.Minute,
		Templates: []inventory.Template{{
			Name: "web", Region: "fra1", Size: "s-1vcpu-1gb", Image: "debian-12-x64", Tags: []string{tag, "web"}, VolumeGB: 10,
		}},
	})
	updates, stop := svc.Subscribe()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	names := []string{tag + "-a", tag + "-b", tag + "-c"}
	// A viewer is refused, and the refusal is journaled.
	_, err = svc.Create(ctx, access.Actor{Name: "vic", Role: access.Viewer}, "web", names[:1], nil)
	var denied *access.DeniedError
	if !errors.As(err, &denied) {
		t.Fatalf("viewer create: %v, want DeniedError", err)
	}

	stages := map[string][]inventory.Stage{}
	hosts, err := svc.Create(ctx, alice, "web", names, func(p inventory.CreateProgress) {
		stages[p.Name] = append(stages[p.Name], p.Stage)
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []inventory.Stage{inventory.StageRequested, inventory.StageActive, inventory.StageIPAssigned, inventory.StageSSHReachable}
	for _, n := range names {
		if !slices.Equal(stages[n], want) {
			t.Errorf("%s went through %v, want %v", n, stages[n], want)
		}
	}
	for _, h := range hosts {
		if err := inventory.ProbeSSH(ctx, h.PublicIPv4); err != nil {
			t.Errorf("%s: %v", h.Name, err)
		}
	}
	select {
	case <-updates:
	default:
		t.Error("no change notification after create")
	}
	st := svc.State()
	for _, n := range names {
		h, ok := st.Host(n)
		if !ok || h.Status != "active" || h.PriceMonthly != 6 || len(st.Volumes[h.ID]) != 1 || st.Volumes[h.ID][0].SizeGB != 10 {
			t.Errorf("%s in state: %+v (found %v) volumes %+v", n, h, ok, st.Volumes[h.ID])
		}
	}

	// Power off and on again, with progress.
	var seen []string
	if err := svc.Act(ctx, alice, hosts[0], inventory.ActionRequest{Kind: inventory.PowerOff}, func(s inventory.ActionStatus) {
		seen = append(seen, s.Status)
	}); err != nil {
		t.Fatal(err)
	}
	if h, _ := svc.State().Host(names[0]); h.Status != "off" || seen[len(seen)-1] != "completed" {
		t.Fatalf("after power off: status %s, progress %v", h.Status, seen)
	}
	if err := svc.Act(ctx, alice, hosts[0], inventory.ActionRequest{Kind: inventory.PowerOn}, nil); err != nil {
		t.Fatal(err)
	}

	// Resizing a running host powers it off, resizes, and powers it on.
	var kinds []string
	if err := svc.Act(ctx, alice, hosts[1], inventory.ActionRequest{Kind: inventory.Resize, Size: "s-1vcpu-2gb"}, func(s inventory.ActionStatus) {
		if s.Status == "completed" {
			kinds = append(kinds, s.Kind)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if h, _ := svc.State().Host(names[1]); h.Size != "s-1vcpu-2gb" || h.PriceMonthly != 12 || h.Status != "active" ||
		!slices.Equal(kinds, []string{"power_off", "resize", "power_on"}) {
		t.Fatalf("after resize: %+v, actions %v", h, kinds)
	}

	if err := svc.Act(ctx, alice, hosts[0], inventory.ActionRequest{Kind: inventory.Snapshot, Name: tag + "-snap"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := svc.Untag(ctx, alice, "web", hosts[:1]); err != nil {
		t.Fatal(err)
	}
	if h, _ := svc.State().Host(names[0]); h.HasTag("web") || !h.HasTag(tag) {
		t.Fatalf("after untag web: tags %v", h.Tags)
	}

	// Protect one host: destroying by tag lists all three, refuses that one.
	if err := svc.Tag(ctx, alice, inventory.ProtectedTag, hosts[2:]); err != nil {
		t.Fatal(err)
	}
	plan, err := svc.PlanDestroy(ctx, nil, tag)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Hosts) != 2 || len(plan.Refused) != 1 || plan.Refused[0].Name != names[2] {
		t.Fatalf("plan: %d to destroy, refused %+v", len(plan.Hosts), plan.Refused)
	}
	if err := svc.Destroy(ctx, alice, plan); !errors.Is(err, inventory.ErrProtected) {
		t.Fatalf("destroy: %v, want ErrProtected for %s", err, names[2])
	}
	left, err := l.client.Hosts(ctx, tag)
	if err != nil || len(left) != 1 || left[0].Name != names[2] {
		t.Fatalf("after destroy: %+v, %v; want only the protected host", left, err)
	}

	got, err := journal.Query(audit.Query{})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, e := range got {
		count[e.Action+" "+string(e.Result)]++
	}
	wantCount := map[string]int{
		"create host refused": 1, "create host ok": 3, "power off host ok": 1, "power on host ok": 1, "resize host ok": 1, "snapshot host ok": 1, "untag host ok": 1,
		"tag host ok": 1, "destroy host ok": 2, "destroy host refused": 1,
	}
	for k, v := range wantCount {
		if count[k] != v {
			t.Errorf("journal has %d %q, want %d (all: %v)", count[k], k, v, count)
		}
	}
}

// A template names its SSH keys as a person does, by name; the emulator,
// like DigitalOcean, takes only ids and fingerprints.
func TestLabSSHKeyByName(t *testing.T) {
	l := newLab(t)
	ctx := context.Background()
	tag := fmt.Sprintf("keyname-%d", time.Now().UnixNano())
	l.cleanupTag(t, tag)
	_, err := l.client.Create(ctx, inventory.CreateRequest{Names: []string{tag + "-1"}, Region: "ams3", Size: "s-1vcpu-1gb",
		Image: "debian-12-x64", SSHKeys: []string{"no-such-key"}, Tags: []string{tag}})
	if err == nil || !strings.Contains(err.Error(), `"no-such-key"`) || !strings.Contains(err.Error(), "vigil-lab") {
		t.Fatalf("an unknown key name: %v; want an error naming it and the account's keys", err)
	}
	hs, err := l.client.Create(ctx, inventory.CreateRequest{Names: []string{tag + "-1"}, Region: "ams3", Size: "s-1vcpu-1gb",
		Image: "debian-12-x64", SSHKeys: []string{"vigil-lab"}, Tags: []string{tag}})
	if err != nil || len(hs) != 1 {
		t.Fatalf("create with the key named vigil-lab: %v, %v", hs, err)
	}
}
