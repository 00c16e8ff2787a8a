package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/digitalocean/godo"
)

const (
	testToken  = "lab-token"
	testPubKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBjdq9fVq8m0jVQd2yZb7m5bqFJx0Qd2Xv8cW9H3aH0e lab"
	testDelay  = 150 * time.Millisecond
)

type lab struct {
	srv    *Server
	http   *httptest.Server
	client *godo.Client
	dir    string
}

// startLab serves an emulator without hosts from dir (a new temp dir when
// empty) and returns a godo client for it.
func startLab(t *testing.T, dir string, tweak ...func(*Config)) *lab {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	cfg := Config{
		StateDir: dir, Token: testToken, LabKey: testPubKey, FileSD: filepath.Join(dir, "droplets.json"),
		ActionDelay: testDelay, Logf: t.Logf,
	}
	for _, f := range tweak {
		f(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	l := &lab{srv: srv, http: hs, dir: dir, client: newClient(t, hs.URL, testToken)}
	t.Cleanup(l.stop)
	return l
}

func (l *lab) stop() {
	l.http.Close()
	l.srv.Close()
}

type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

func newClient(t testing.TB, url, token string) *godo.Client {
	t.Helper()
	c, err := godo.New(&http.Client{Transport: bearer{token}}, godo.SetBaseURL(url+"/"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func createReq(names ...string) *godo.DropletMultiCreateRequest {
	return &godo.DropletMultiCreateRequest{
		Names: names, Region: "fra1", Size: "s-1vcpu-1gb",
		Image: godo.DropletCreateImage{Slug: "debian-12-x64"},
	}
}

func names(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%02d", prefix, i+1)
	}
	return out
}

// listAll walks every page of the droplet list the way issue 6's
// integration will: following links until the last page.
func listAll(t *testing.T, c *godo.Client, tag string, perPage int) ([]godo.Droplet, int) {
	t.Helper()
	ctx := context.Background()
	var all []godo.Droplet
	opt := &godo.ListOptions{Page: 1, PerPage: perPage}
	pages := 0
	for {
		var ds []godo.Droplet
		var resp *godo.Response
		var err error
		if tag == "" {
			ds, resp, err = c.Droplets.List(ctx, opt)
		} else {
			ds, resp, err = c.Droplets.ListByTag(ctx, tag, opt)
		}
		if err != nil {
			t.Fatal(err)
		}
		pages++
		all = append(all, ds...)
		if resp.Links == nil || resp.Links.IsLastPage() {
			if resp.Meta == nil || resp.Meta.Total != len(all) {
				t.Fatalf("meta.total = %+v, walked %d droplets", resp.Meta, len(all))
			}
			return all, pages
		}
		cur, err := resp.Links.CurrentPage()
		if err != nil {
			t.Fatal(err)
		}
		if cur != opt.Page {
			t.Fatalf("links say page %d, asked for %d", cur, opt.Page)
		}
		opt.Page = cur + 1
	}
}

func waitAction(t *testing.T, c *godo.Client, id int) *godo.Action {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		a, _, err := c.Actions.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if a.Status != godo.ActionInProgress {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("action %d still in progress", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// createActive creates droplets and waits for their create actions.
func createActive(t *testing.T, c *godo.Client, req *godo.DropletMultiCreateRequest) []godo.Droplet {
	t.Helper()
	ds, resp, err := c.Droplets.CreateMultiple(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range resp.Links.Actions {
		if got := waitAction(t, c, a.ID); got.Status != godo.ActionCompleted {
			t.Fatalf("create action %d: %s", a.ID, got.Status)
		}
	}
	return ds
}

func TestPaginationWalksAllPages(t *testing.T) {
	l := startLab(t, "")
	ctx := context.Background()
	for i := range 5 {
		if _, _, err := l.client.Droplets.CreateMultiple(ctx, createReq(names(fmt.Sprintf("web%d", i), 9)...)); err != nil {
			t.Fatal(err)
		}
	}
	all, pages := listAll(t, l.client, "", 10)
	if len(all) != 45 || pages != 5 {
		t.Fatalf("walked %d droplets over %d pages, want 45 over 5", len(all), pages)
	}
	seen := map[int]bool{}
	for _, d := range all {
		if seen[d.ID] {
			t.Fatalf("droplet %d listed twice", d.ID)
		}
		seen[d.ID] = true
	}
	if !slices.IsSortedFunc(all, func(a, b godo.Droplet) int { return a.ID - b.ID }) {
		t.Fatal("droplets are not listed in id order")
	}
	// A page past the end is empty and still carries the total.
	ds, resp, err := l.client.Droplets.List(ctx, &godo.ListOptions{Page: 9, PerPage: 10})
	if err != nil || len(ds) != 0 || resp.Meta.Total != 45 {
		t.Fatalf("page 9: %d droplets, meta %+v, err %v", len(ds), resp.Meta, err)
	}
}

func TestTagFilterAndTagging(t *testing.T) {
	l := startLab(t, "")
	ctx := context.Background()
	req := createReq(names("db", 3)...)
	req.Tags = []string{"db", "env:prod"}
	dbs, _, err := l.client.Droplets.CreateMultiple(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.client.Droplets.CreateMultiple(ctx, createReq(names("web", 4)...)); err != nil {
		t.Fatal(err)
	}
	got, _ := listAll(t, l.client, "db", 2)
	if len(got) != 3 {
		t.Fatalf("tag db lists %d droplets, want 3", len(got))
	}
	for _, d := range got {
		if !strings.HasPrefix(d.Name, "db-") || !slices.Equal(d.Tags, []string{"db", "env:prod"}) {
			t.Fatalf("tag db lists %s with tags %v", d.Name, d.Tags)
		}
	}
	// Tag one web droplet through the tags API, untag a db one.
	web, _, err := l.client.Droplets.ListByName(ctx, "web-02", nil)
	if err != nil || len(web) != 1 {
		t.Fatalf("by name: %v %v", web, err)
	}
	if _, err := l.client.Tags.TagResources(ctx, "DB", &godo.TagResourcesRequest{
		Resources: []godo.Resource{{ID: fmt.Sprint(web[0].ID), Type: godo.DropletResourceType}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.client.Tags.UntagResources(ctx, "db", &godo.UntagResourcesRequest{
		Resources: []godo.Resource{{ID: fmt.Sprint(dbs[0].ID), Type: godo.DropletResourceType}},
	}); err != nil {
		t.Fatal(err)
	}
	got, _ = listAll(t, l.client, "db", 20)
	var gotNames []string
	for _, d := range got {
		gotNames = append(gotNames, d.Name)
	}
	if want := []string{"db-02", "db-03", "web-02"}; !slices.Equal(gotNames, want) {
		t.Fatalf("tag db lists %v, want %v", gotNames, want)
	}
	tag, _, err := l.client.Tags.Get(ctx, "db")
	if err != nil || tag.Resources.Count != 3 || tag.Resources.Droplets.Count != 3 {
		t.Fatalf("tag db: %+v %v", tag, err)
	}
	if _, _, err := l.client.Tags.Get(ctx, "nope"); !isStatus(err, 404) {
		t.Fatalf("unknown tag: %v, want 404", err)
	}
	if _, err := l.client.Tags.Delete(ctx, "env:prod"); err != nil {
		t.Fatal(err)
	}
	if got, _ := listAll(t, l.client, "env:prod", 20); len(got) != 0 {
		t.Fatalf("deleted tag still lists %d droplets", len(got))
	}
}

func isStatus(err error, status int) bool {
	var er *godo.ErrorResponse
	return errors.As(err, &er) && er.Response.StatusCode == status
}

func TestCreateSingleAndMultiple(t *testing.T) {
	l := startLab(t, "")
	ctx := context.Background()
	d, resp, err := l.client.Droplets.Create(ctx, &godo.DropletCreateRequest{
		Name: "api-1", Region: "ams3", Size: "s-2vcpu-4gb", Image: godo.DropletCreateImage{Slug: "ubuntu-24-04-x64"},
		Tags: []string{"api"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != "new" || d.Size.PriceMonthly != 24 || d.Region.Slug != "ams3" || d.Image.Slug != "ubuntu-24-04-x64" {
		t.Fatalf("created %+v", d)
	}
	if len(resp.Links.Actions) != 1 || resp.Links.Actions[0].Rel != "create" {
		t.Fatalf("create links: %+v", resp.Links)
	}
	pub, err := d.PublicIPv4()
	if err != nil || pub != "127.0.10.2" {
		t.Fatalf("public IPv4 %q %v", pub, err)
	}
	priv, _ := d.PrivateIPv4()
	if !strings.HasPrefix(priv, "10.") {
		t.Fatalf("private IPv4 %q", priv)
	}
	many := createActive(t, l.client, createReq("w1", "w2", "w3"))
	if len(many) != 3 {
		t.Fatalf("created %d droplets", len(many))
	}
	ips := map[string]bool{pub: true}
	for _, m := range many {
		ip, _ := m.PublicIPv4()
		if ips[ip] {
			t.Fatalf("address %s given twice", ip)
		}
		ips[ip] = true
		got, _, err := l.client.Droplets.Get(ctx, m.ID)
		if err != nil || got.Status != "active" || got.Locked {
			t.Fatalf("after create: %+v %v", got, err)
		}
	}
	for _, bad := range []*godo.DropletMultiCreateRequest{
		{Names: []string{"x"}, Region: "fra1", Size: "huge", Image: godo.DropletCreateImage{Slug: "debian-12-x64"}},
		{Names: []string{"x"}, Region: "mars1", Size: "s-1vcpu-1gb", Image: godo.DropletCreateImage{Slug: "debian-12-x64"}},
		{Names: []string{"bad name"}, Region: "fra1", Size: "s-1vcpu-1gb", Image: godo.DropletCreateImage{Slug: "debian-12-x64"}},
		createReq(names("eleven", 11)...),
	} {
		if _, _, err := l.client.Droplets.CreateMultiple(ctx, bad); !isStatus(err, 422) {
			t.Errorf("create %+v: %v, want 422", bad, err)
		}
	}
}

func TestDeleteByIDAndTag(t *testing.T) {
	l := startLab(t, "")
	ctx := context.Background()
	req := createReq(names("tmp", 4)...)
	req.Tags = []string{"tmp"}
	tmp, _, err := l.client.Droplets.CreateMultiple(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	keep, _, err := l.client.Droplets.CreateMultiple(ctx, createReq("keep"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.client.Droplets.Delete(ctx, tmp[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.client.Droplets.Get(ctx, tmp[0].ID); !isStatus(err, 404) {
		t.Fatalf("deleted droplet: %v, want 404", err)
	}
	if _, err := l.client.Droplets.DeleteByTag(ctx, "tmp"); err != nil {
		t.Fatal(err)
	}
	all, _ := listAll(t, l.client, "", 20)
	if len(all) != 1 || all[0].ID != keep[0].ID {
		t.Fatalf("after deletes: %v", all)
	}
	if _, err := l.client.Droplets.Delete(ctx, 424242); !isStatus(err, 404) {
		t.Fatalf("unknown droplet: %v, want 404", err)
	}
	// A freed address is not given again at once: the next droplet takes
	// the address after the last one given (a destroyed droplet's sshd may
	// still answer on its own, and its key sits in known_hosts files).
	d, _, err := l.client.Droplets.Create(ctx, &godo.DropletCreateRequest{
		Name: "again", Region: "fra1", Size: "s-1vcpu-1gb", Image: godo.DropletCreateImage{Slug: "debian-12-x64"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if ip, _ := d.PublicIPv4(); ip != "127.0.10.7" {
		t.Fatalf("new droplet got %s, want 127.0.10.7, after the last given (not the freed 127.0.10.2)", ip)
	}
}

func TestActionsMoveFromInProgressToCompleted(t *testing.T) {
	l := startLab(t, "")
	ctx := context.Background()
	d, resp, err := l.client.Droplets.Create(ctx, &godo.DropletCreateRequest{
		Name: "box", Region: "fra1", Size: "s-1vcpu-1gb", Image: godo.DropletCreateImage{Slug: "debian-12-x64"},
	})
	if err != nil {
		t.Fatal(err)
	}
	create, _, err := l.client.Actions.Get(ctx, resp.Links.Actions[0].ID)
	if err != nil || create.Status != godo.ActionInProgress || create.CompletedAt != nil {
		t.Fatalf("fresh create action: %+v %v", create, err)
	}
	if _, _, err := l.client.DropletActions.PowerOff(ctx, d.ID); !isStatus(err, 422) {
		t.Fatalf("power off during create: %v, want 422", err)
	}
	if a := waitAction(t, l.client, create.ID); a.Status != godo.ActionCompleted || a.CompletedAt == nil {
		t.Fatalf("create action: %+v", a)
	}
	status := func() string {
		got, _, err := l.client.Droplets.Get(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.Status
	}
	if s := status(); s != "active" {
		t.Fatalf("after create: %s", s)
	}
	if _, _, err := l.client.DropletActions.Resize(ctx, d.ID, "s-2vcpu-4gb", false); !isStatus(err, 422) {
		t.Fatalf("resize while on: %v, want 422", err)
	}

	steps := []struct {
		do     func() (*godo.Action, *godo.Response, error)
		status string
	}{
		{func() (*godo.Action, *godo.Response, error) { return l.client.DropletActions.PowerOff(ctx, d.ID) }, "off"},
		{func() (*godo.Action, *godo.Response, error) {
			return l.client.DropletActions.Resize(ctx, d.ID, "s-2vcpu-4gb", false)
		}, "off"},
		{func() (*godo.Action, *godo.Response, error) { return l.client.DropletActions.PowerOn(ctx, d.ID) }, "active"},
		{func() (*godo.Action, *godo.Response, error) { return l.client.DropletActions.Shutdown(ctx, d.ID) }, "off"},
		{func() (*godo.Action, *godo.Response, error) { return l.client.DropletActions.PowerCycle(ctx, d.ID) }, "active"},
		{func() (*godo.Action, *godo.Response, error) { return l.client.DropletActions.Reboot(ctx, d.ID) }, "active"},
		{func() (*godo.Action, *godo.Response, error) {
			return l.client.DropletActions.Rename(ctx, d.ID, "box-2")
		}, "active"},
		{func() (*godo.Action, *godo.Response, error) {
			return l.client.DropletActions.Snapshot(ctx, d.ID, "snap")
		}, "active"},
	}
	for i, st := range steps {
		before := status()
		a, _, err := st.do()
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if a.Status != godo.ActionInProgress || status() != before {
			t.Fatalf("step %d %s: action %s, droplet %s before completion", i, a.Type, a.Status, status())
		}
		if got := waitAction(t, l.client, a.ID); got.Status != godo.ActionCompleted {
			t.Fatalf("step %d %s: %s", i, a.Type, got.Status)
		}
		if s := status(); s != st.status {
			t.Fatalf("step %d %s: droplet %s, want %s", i, a.Type, s, st.status)
		}
		da, _, err := l.client.DropletActions.Get(ctx, d.ID, a.ID)
		if err != nil || da.ID != a.ID || da.ResourceID != d.ID {
			t.Fatalf("droplet action %d: %+v %v", a.ID, da, err)
		}
	}
	got, _, _ := l.client.Droplets.Get(ctx, d.ID)
	if got.Name != "box-2" || got.SizeSlug != "s-2vcpu-4gb" || got.Memory != 4096 || len(got.SnapshotIDs) != 1 {
		t.Fatalf("after actions: %+v", got)
	}
	acts, _, err := l.client.Droplets.Actions(ctx, d.ID, &godo.ListOptions{PerPage: 50})
	if err != nil || len(acts) != len(steps)+1 {
		t.Fatalf("droplet actions: %d %v", len(acts), err)
	}
}

func TestWrongTokenGets401(t *testing.T) {
	l := startLab(t, "")
	c := newClient(t, l.http.URL, "wrong")
	_, _, err := c.Droplets.List(context.Background(), nil)
	var er *godo.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != 401 || er.Message != "Unable to authenticate you" {
		t.Fatalf("wrong token: %v", err)
	}
	res, err := http.Get(l.http.URL + "/v2/account")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]string
	json.NewDecoder(res.Body).Decode(&body)
	if res.StatusCode != 401 || body["id"] != "unauthorized" || res.Header.Get("RateLimit-Limit") == "" {
		t.Fatalf("no token: %d %v %v", res.StatusCode, body, res.Header)
	}
}

func labRequest(t *testing.T, l *lab, method, path, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, l.http.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

func TestInjectedFaults(t *testing.T) {
	l := startLab(t, "")
	ctx := context.Background()
	if res := labRequest(t, l, "POST", "/_lab/faults", `{"status":429,"count":2,"retry_after":3}`); res.StatusCode != 200 {
		t.Fatalf("arm fault: %d", res.StatusCode)
	}
	for range 2 {
		_, resp, err := l.client.Account.Get(ctx)
		if !isStatus(err, 429) || resp.Header.Get("Retry-After") != "3" {
			t.Fatalf("injected 429: %v, Retry-After %q", err, resp.Header.Get("Retry-After"))
		}
	}
	if _, _, err := l.client.Account.Get(ctx); err != nil {
		t.Fatalf("after the faults ran out: %v", err)
	}
	labRequest(t, l, "POST", "/_lab/faults", `{"status":503,"count":5}`)
	if _, _, err := l.client.Sizes.List(ctx, nil); !isStatus(err, 503) {
		t.Fatalf("injected 503: %v", err)
	}
	if res := labRequest(t, l, "DELETE", "/_lab/faults", ""); res.StatusCode != 204 {
		t.Fatalf("clear faults: %d", res.StatusCode)
	}
	if _, _, err := l.client.Sizes.List(ctx, nil); err != nil {
		t.Fatalf("after clearing: %v", err)
	}
	if res := labRequest(t, l, "POST", "/_lab/faults", `{"status":200,"count":1}`); res.StatusCode != 422 {
		t.Fatalf("a 200 fault: %d, want 422", res.StatusCode)
	}
}

func TestRateLimitBudget(t *testing.T) {
	l := startLab(t, "", func(c *Config) { c.RateLimit = 3 })
	ctx := context.Background()
	for want := 2; want >= 0; want-- {
		_, resp, err := l.client.Regions.List(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Rate.Limit != 3 || resp.Rate.Remaining != want || time.Until(resp.Rate.Reset.Time) < 50*time.Minute {
			t.Fatalf("rate %+v, want %d remaining", resp.Rate, want)
		}
	}
	_, resp, err := l.client.Regions.List(ctx, nil)
	if !isStatus(err, 429) || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("over budget: %v", err)
	}
	// A new budget set at run time starts afresh.
	if res := labRequest(t, l, "PUT", "/_lab/ratelimit", `{"limit":10,"window_seconds":60}`); res.StatusCode != 200 {
		t.Fatalf("set rate limit: %d", res.StatusCode)
	}
	_, resp, err = l.client.Regions.List(ctx, nil)
	if err != nil || resp.Rate.Limit != 10 || resp.Rate.Remaining != 9 || time.Until(resp.Rate.Reset.Time) > time.Minute {
		t.Fatalf("after setting 10 a minute: %+v %v", resp.Rate, err)
	}
}

func TestUnknownPathIsJSON404(t *testing.T) {
	l := startLab(t, "")
	req, _ := http.NewRequest("GET", l.http.URL+"/v2/floating_ips", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]string
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || res.StatusCode != 404 || body["id"] != "not_found" {
		t.Fatalf("unknown path: %d %v %v", res.StatusCode, body, err)
	}
}

func TestStateSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	l := startLab(t, dir)
	ctx := context.Background()
	req := createReq("a", "b")
	req.Tags = []string{"keep"}
	before := createActive(t, l.client, req)
	key, _, err := l.client.Keys.Create(ctx, &godo.KeyCreateRequest{Name: "alice", PublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA3p6nq0LrYk7hGzU6tVTtVnqK7oVZpy3Yt7Z5s4cJv1 alice"})
	if err != nil {
		t.Fatal(err)
	}
	off, _, err := l.client.DropletActions.PowerOff(ctx, before[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	l.stop() // with the power-off still in progress

	l2 := startLab(t, dir)
	if a := waitAction(t, l2.client, off.ID); a.Status != godo.ActionCompleted {
		t.Fatalf("power off resumed after restart: %s", a.Status)
	}
	all, _ := listAll(t, l2.client, "keep", 20)
	if len(all) != 2 || all[0].Name != "a" || all[0].Status != "active" || all[1].Status != "off" {
		t.Fatalf("after restart: %+v", all)
	}
	keys, _, err := l2.client.Keys.List(ctx, nil)
	if err != nil || len(keys) != 2 || keys[1].ID != key.ID || keys[1].Fingerprint != key.Fingerprint {
		t.Fatalf("keys after restart: %+v %v", keys, err)
	}
	d, _, err := l2.client.Droplets.Create(ctx, &godo.DropletCreateRequest{
		Name: "c", Region: "fra1", Size: "s-1vcpu-1gb", Image: godo.DropletCreateImage{Slug: "debian-12-x64"},
	})
	if err != nil || d.ID <= before[1].ID {
		t.Fatalf("ids restart from scratch: %d after %d (%v)", d.ID, before[1].ID, err)
	}
}

func TestSSHKeys(t *testing.T) {
	l := startLab(t, "")
	ctx := context.Background()
	keys, _, err := l.client.Keys.List(ctx, nil)
	if err != nil || len(keys) != 1 || keys[0].Name != "vigil-lab" || keys[0].PublicKey != testPubKey {
		t.Fatalf("lab key: %+v %v", keys, err)
	}
	byFP, _, err := l.client.Keys.GetByFingerprint(ctx, keys[0].Fingerprint)
	if err != nil || byFP.ID != keys[0].ID {
		t.Fatalf("by fingerprint: %+v %v", byFP, err)
	}
	if len(strings.Split(keys[0].Fingerprint, ":")) != 16 {
		t.Fatalf("fingerprint %q is not an MD5 one", keys[0].Fingerprint)
	}
	if _, _, err := l.client.Keys.Create(ctx, &godo.KeyCreateRequest{Name: "dup", PublicKey: testPubKey}); !isStatus(err, 422) {
		t.Fatalf("duplicate key: %v, want 422", err)
	}
	if _, _, err := l.client.Keys.Create(ctx, &godo.KeyCreateRequest{Name: "junk", PublicKey: "not a key"}); !isStatus(err, 422) {
		t.Fatalf("junk key: %v, want 422", err)
	}
}

func TestFileSDFollowsDroplets(t *testing.T) {
	l := startLab(t, "")
	ctx := context.Background()
	req := createReq("n1", "n2")
	req.Tags = []string{"web", "flaky"}
	ds := createActive(t, l.client, req)
	if _, err := l.client.Droplets.Delete(ctx, ds[0].ID); err != nil {
		t.Fatal(err)
	}
	var groups []sdGroup
	deadline := time.Now().Add(3 * time.Second)
	for {
		b, err := os.ReadFile(filepath.Join(l.dir, "droplets.json"))
		if err == nil && json.Unmarshal(b, &groups) == nil && len(groups) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("file_sd: %s", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	want := sdGroup{Targets: []string{"127.0.10.3:9100"}, Labels: map[string]string{
		"droplet": "n2", "region": "fra1", "size": "s-1vcpu-1gb", "tags": ",web,flaky,",
	}}
	if fmt.Sprint(groups[0]) != fmt.Sprint(want) {
		t.Fatalf("file_sd %+v, want %+v", groups[0], want)
	}
}

func TestVolumesAttachAndDetach(t *testing.T) {
	l := startLab(t, "")
	ctx := context.Background()
	d := createActive(t, l.client, createReq("data-1"))[0]
	v, _, err := l.client.Storage.CreateVolume(ctx, &godo.VolumeCreateRequest{
		Name: "pgdata", Region: "fra1", SizeGigaBytes: 100, FilesystemType: "ext4", Tags: []string{"db"},
	})
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := l.client.StorageActions.Attach(ctx, v.ID, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := waitAction(t, l.client, a.ID); got.Status != godo.ActionCompleted {
		t.Fatalf("attach: %s", got.Status)
	}
	got, _, _ := l.client.Droplets.Get(ctx, d.ID)
	vol, _, _ := l.client.Storage.GetVolume(ctx, v.ID)
	if !slices.Equal(got.VolumeIDs, []string{v.ID}) || !slices.Equal(vol.DropletIDs, []int{d.ID}) {
		t.Fatalf("after attach: droplet volumes %v, volume droplets %v", got.VolumeIDs, vol.DropletIDs)
	}
	if _, err := l.client.Storage.DeleteVolume(ctx, v.ID); !isStatus(err, 409) {
		t.Fatalf("delete attached volume: %v, want 409", err)
	}
	a, _, err = l.client.StorageActions.DetachByDropletID(ctx, v.ID, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	waitAction(t, l.client, a.ID)
	if _, err := l.client.Storage.DeleteVolume(ctx, v.ID); err != nil {
		t.Fatalf("delete detached volume: %v", err)
	}
	vols, _, err := l.client.Storage.ListVolumes(ctx, nil)
	if err != nil || len(vols) != 0 {
		t.Fatalf("volumes left: %v %v", vols, err)
	}
}
