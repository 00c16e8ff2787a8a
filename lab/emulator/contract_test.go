package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digitalocean/godo"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"go.yaml.in/yaml/v3"
)

// specPath is the part of DigitalOcean's OpenAPI description that the
// emulator serves, copied into testdata (see its SOURCE and prune.py).
const specPath = "testdata/digitalocean-openapi/specification/DigitalOcean-public.v2.yaml"

var spec struct {
	once   sync.Once
	doc    *openapi3.T
	router routers.Router
	err    error
}

// loadSpec loads the spec once per test binary: it spans hundreds of files
// and takes seconds to resolve.
func loadSpec(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	abs, _ := filepath.Abs(specPath)
	if _, err := os.Stat(abs); err != nil {
		t.Fatalf("DigitalOcean's OpenAPI spec is missing from the repository (restore lab/emulator/testdata/digitalocean-openapi): %v", err)
	}
	spec.once.Do(func() {
		start := time.Now()
		loader := openapi3.NewLoader()
		loader.IsExternalRefsAllowed = true
		loader.ReadFromURIFunc = readPatched
		var data []byte
		if data, spec.err = bundle(abs); spec.err != nil {
			return
		}
		spec.doc, spec.err = loader.LoadFromDataWithPath(data, &url.URL{Path: abs})
		if spec.err != nil {
			return
		}
		spec.router, spec.err = gorillamux.NewRouter(spec.doc)
		t.Logf("loaded %s in %s", abs, time.Since(start).Round(time.Millisecond))
	})
	if spec.err != nil {
		t.Fatalf("load %s: %v", abs, spec.err)
	}
	return spec.doc, spec.router
}

// bundle reads the spec's top file and inlines what OpenAPI does not let
// a loader follow, as DigitalOcean's own bundler does: every operation is a
// $ref to a file of its own, and two top-level tags take their descriptions
// by $ref. Refs inside an inlined operation are rewritten to stay relative
// to the operation's file. The result is JSON for kin-openapi's loader.
func bundle(top string) ([]byte, error) {
	var doc map[string]any
	if err := readYAML(top, &doc); err != nil {
		return nil, err
	}
	if tags, ok := doc["tags"].([]any); ok {
		for _, tag := range tags {
			if m, ok := tag.(map[string]any); ok {
				if _, isRef := m["description"].(map[string]any); isRef {
					m["description"] = ""
				}
			}
		}
	}
	paths, _ := doc["paths"].(map[string]any)
	for _, item := range paths {
		item, _ := item.(map[string]any)
		for method, op := range item {
			ref, ok := op.(map[string]any)["$ref"].(string)
			if !ok || method == "parameters" {
				continue
			}
			var content any
			if err := readYAML(filepath.Join(filepath.Dir(top), ref), &content); err != nil {
				return nil, err
			}
			item[method] = inlinePropertyRefs(rebase(content, ref), filepath.Dir(top))
		}
	}
	return json.Marshal(doc)
}

// readPatched reads a spec file for the loader with inlinePropertyRefs
// applied: the load balancer models write "properties: {$ref: …}", which
// OpenAPI does not allow (properties is a map of schemas), meaning the
// properties listed in the referenced map.
func readPatched(_ *openapi3.Loader, u *url.URL) ([]byte, error) {
	b, err := os.ReadFile(u.Path)
	if err != nil || !bytes.Contains(b, []byte("properties:")) {
		return b, err
	}
	var doc any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", u.Path, err)
	}
	return json.Marshal(inlinePropertyRefs(doc, filepath.Dir(u.Path)))
}

// inlinePropertyRefs replaces each "properties: {$ref: FILE#/NAME}" under
// node, whose refs are relative to dir, by one property per key of the
// referenced map, each a $ref to that key.
func inlinePropertyRefs(node any, dir string) any {
	switch n := node.(type) {
	case map[string]any:
		for k, v := range n {
			props, ok := v.(map[string]any)
			ref, isRef := props["$ref"].(string)
			if k == "properties" && ok && isRef && len(props) == 1 {
				file, frag, _ := strings.Cut(ref, "#")
				var target map[string]any
				if err := readYAML(filepath.Join(dir, file), &target); err == nil {
					sub, _ := target[strings.TrimPrefix(frag, "/")].(map[string]any)
					out := map[string]any{}
					for name := range sub {
						out[name] = map[string]any{"$ref": ref + "/" + name}
					}
					n[k] = out
					continue
				}
			}
			n[k] = inlinePropertyRefs(v, dir)
		}
	case []any:
		for i, v := range n {
			n[i] = inlinePropertyRefs(v, dir)
		}
	}
	return node
}

func readYAML(file string, v any) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	return nil
}

// rebase rewrites the $refs (and discriminator mappings, refs too) of a
// node read from file, a path relative to the top file, so they resolve from
// the top file.
func rebase(node any, file string) any {
	switch n := node.(type) {
	case map[string]any:
		for k, v := range n {
			if ref, ok := v.(string); ok && k == "$ref" {
				n[k] = rebaseRef(ref, file)
				continue
			}
			if m, ok := v.(map[string]any); ok && k == "mapping" {
				for name, ref := range m {
					if ref, ok := ref.(string); ok {
						m[name] = rebaseRef(ref, file)
					}
				}
				continue
			}
			n[k] = rebase(v, file)
		}
	case []any:
		for i, v := range n {
			n[i] = rebase(v, file)
		}
	}
	return node
}

func rebaseRef(ref, file string) string {
	target, frag, _ := strings.Cut(ref, "#")
	switch {
	case target == "":
		return file + "#" + frag
	case strings.Contains(target, "://"):
		return ref
	}
	return path.Join(path.Dir(file), target) + strings.TrimSuffix("#"+frag, "#")
}

func TestSpecLoads(t *testing.T) {
	doc, _ := loadSpec(t)
	if doc.Paths.Find("/v2/droplets") == nil {
		t.Fatal("spec has no /v2/droplets")
	}
}

// contract checks every request and response passing through it against
// the spec and remembers which operations it saw.
type contract struct {
	t        *testing.T
	router   routers.Router
	next     http.Handler
	mu       sync.Mutex
	seen     map[string]bool // operationId
	problems []string
}

func (c *contract) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_lab/") {
		c.next.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	// Route as if sent to DigitalOcean: the spec's server is api.digitalocean.com.
	vr := r.Clone(context.Background())
	vr.URL.Scheme, vr.URL.Host, vr.Host = "https", "api.digitalocean.com", "api.digitalocean.com"
	vr.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := c.router.FindRoute(vr)
	if err != nil {
		c.problem("%s %s: not in the spec: %v", r.Method, r.URL.Path, err)
		c.next.ServeHTTP(w, r)
		return
	}
	op := route.Operation.OperationID
	in := &openapi3filter.RequestValidationInput{
		Request: vr, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
	}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		c.problem("request %s (%s %s %s): %v", op, r.Method, r.URL.RequestURI(), body, err)
	}
	rec := httptest.NewRecorder()
	c.next.ServeHTTP(rec, r)
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: rec.Code, Header: rec.Header(),
		Body:    io.NopCloser(bytes.NewReader(rec.Body.Bytes())),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		c.problem("response %s %d (%s %s): %v\n%s", op, rec.Code, r.Method, r.URL.RequestURI(), err, truncate(rec.Body.String()))
	}
	c.mu.Lock()
	c.seen[fmt.Sprintf("%s %d", op, rec.Code)] = true
	c.seen[op] = true
	c.mu.Unlock()
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

func truncate(s string) string {
	if len(s) > 600 {
		return s[:600] + "…"
	}
	return s
}

func (c *contract) problem(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// TestContract drives every implemented endpoint through godo, success and
// error responses alike, and validates each exchange against the spec.
func TestContract(t *testing.T) {
	_, router := loadSpec(t)
	srv, err := New(Config{StateDir: t.TempDir(), Token: testToken, LabKey: testPubKey, ActionDelay: 50 * time.Millisecond, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c := &contract{t: t, router: router, next: srv, seen: map[string]bool{}}
	hs := httptest.NewServer(c)
	defer hs.Close()
	l := &lab{srv: srv, http: hs, client: newClient(t, hs.URL, testToken)}
	do := l.client
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	want := func(status int, err error) {
		t.Helper()
		if !isStatus(err, status) {
			t.Fatalf("got %v, want status %d", err, status)
		}
	}

	_, _, err = do.Account.Get(ctx)
	must(err)
	_, _, err = do.Regions.List(ctx, nil)
	must(err)
	_, _, err = do.Sizes.List(ctx, &godo.ListOptions{PerPage: 3, Page: 2})
	must(err)
	_, _, err = do.Images.ListDistribution(ctx, nil)
	must(err)
	_, _, err = do.Images.GetBySlug(ctx, "debian-12-x64")
	must(err)
	_, _, err = do.Images.GetByID(ctx, 1001)
	must(err)

	keys, _, err := do.Keys.List(ctx, nil)
	must(err)
	k, _, err := do.Keys.Create(ctx, &godo.KeyCreateRequest{Name: "alice", PublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA3p6nq0LrYk7hGzU6tVTtVnqK7oVZpy3Yt7Z5s4cJv1 alice"})
	must(err)
	_, _, err = do.Keys.GetByID(ctx, k.ID)
	must(err)
	_, _, err = do.Keys.GetByFingerprint(ctx, keys[0].Fingerprint)
	must(err)
	_, _, err = do.Keys.Create(ctx, &godo.KeyCreateRequest{Name: "again", PublicKey: testPubKey})
	want(422, err)
	_, err = do.Keys.DeleteByID(ctx, k.ID)
	must(err)
	_, _, err = do.Keys.GetByID(ctx, k.ID)
	want(404, err)

	_, _, err = do.Tags.Create(ctx, &godo.TagCreateRequest{Name: "web"})
	must(err)
	single, sresp, err := do.Droplets.Create(ctx, &godo.DropletCreateRequest{
		Name: "api-1", Region: "fra1", Size: "s-1vcpu-1gb", Image: godo.DropletCreateImage{Slug: "debian-12-x64"},
		SSHKeys: []godo.DropletCreateSSHKey{{Fingerprint: keys[0].Fingerprint}}, Tags: []string{"api"},
	})
	must(err)
	req := createReq("web-1", "web-2", "web-3")
	req.Tags = []string{"web"}
	req.SSHKeys = []godo.DropletCreateSSHKey{{ID: keys[0].ID}}
	multi, resp, err := do.Droplets.CreateMultiple(ctx, req)
	must(err)
	_, _, err = do.Droplets.CreateMultiple(ctx, &godo.DropletMultiCreateRequest{
		Names: []string{"x"}, Region: "fra1", Size: "s-64vcpu-1tb", Image: godo.DropletCreateImage{Slug: "debian-12-x64"},
	})
	want(422, err)
	for _, a := range resp.Links.Actions {
		waitAction(t, do, a.ID)
	}
	waitAction(t, do, sresp.Links.Actions[0].ID)

	_, _, err = do.Droplets.List(ctx, &godo.ListOptions{PerPage: 2, Page: 2})
	must(err)
	_, _, err = do.Droplets.ListByTag(ctx, "web", nil)
	must(err)
	_, _, err = do.Droplets.ListByName(ctx, "web-2", nil)
	must(err)
	_, _, err = do.Droplets.Get(ctx, multi[0].ID)
	must(err)
	_, _, err = do.Droplets.Get(ctx, 1)
	want(404, err)

	_, err = do.Tags.TagResources(ctx, "web", &godo.TagResourcesRequest{Resources: []godo.Resource{{ID: fmt.Sprint(single.ID), Type: godo.DropletResourceType}}})
	must(err)
	_, err = do.Tags.UntagResources(ctx, "web", &godo.UntagResourcesRequest{Resources: []godo.Resource{{ID: fmt.Sprint(single.ID), Type: godo.DropletResourceType}}})
	must(err)
	_, _, err = do.Tags.List(ctx, nil)
	must(err)
	_, _, err = do.Tags.Get(ctx, "web")
	must(err)

	id := multi[0].ID
	for _, step := range []func() (*godo.Action, *godo.Response, error){
		func() (*godo.Action, *godo.Response, error) { return do.DropletActions.PowerOff(ctx, id) },
		func() (*godo.Action, *godo.Response, error) {
			return do.DropletActions.Resize(ctx, id, "s-2vcpu-2gb", false)
		},
		func() (*godo.Action, *godo.Response, error) { return do.DropletActions.PowerOn(ctx, id) },
		func() (*godo.Action, *godo.Response, error) { return do.DropletActions.Shutdown(ctx, id) },
		func() (*godo.Action, *godo.Response, error) { return do.DropletActions.PowerCycle(ctx, id) },
		func() (*godo.Action, *godo.Response, error) { return do.DropletActions.Reboot(ctx, id) },
		func() (*godo.Action, *godo.Response, error) { return do.DropletActions.Rename(ctx, id, "web-1b") },
		func() (*godo.Action, *godo.Response, error) {
			return do.DropletActions.Snapshot(ctx, id, "before-upgrade")
		},
	} {
		a, _, err := step()
		must(err)
		_, _, err = do.DropletActions.Get(ctx, id, a.ID)
		must(err)
		waitAction(t, do, a.ID)
	}
	_, _, err = do.DropletActions.Resize(ctx, id, "s-2vcpu-4gb", false)
	want(422, err)
	acts, _, err := do.DropletActions.PowerOffByTag(ctx, "web")
	must(err)
	for _, a := range acts {
		waitAction(t, do, a.ID)
	}
	_, _, err = do.Droplets.Actions(ctx, id, nil)
	must(err)
	_, _, err = do.Actions.List(ctx, &godo.ListOptions{PerPage: 5})
	must(err)

	vol, _, err := do.Storage.CreateVolume(ctx, &godo.VolumeCreateRequest{Name: "pgdata", Region: "fra1", SizeGigaBytes: 10, FilesystemType: "ext4"})
	must(err)
	_, _, err = do.Storage.ListVolumes(ctx, &godo.ListVolumeParams{Region: "fra1"})
	must(err)
	a, _, err := do.StorageActions.Attach(ctx, vol.ID, multi[1].ID)
	must(err)
	waitAction(t, do, a.ID)
	_, _, err = do.Storage.GetVolume(ctx, vol.ID)
	must(err)
	snap, _, err := do.Storage.CreateSnapshot(ctx, &godo.SnapshotCreateRequest{VolumeID: vol.ID, Name: "pgdata-1", Tags: []string{"refresh"}})
	must(err)
	_, _, err = do.Storage.ListSnapshots(ctx, vol.ID, nil)
	must(err)
	_, _, err = do.Storage.GetSnapshot(ctx, snap.ID)
	must(err)
	_, _, err = do.Snapshots.ListVolume(ctx, nil)
	must(err)
	raw := func(method, path string) {
		t.Helper()
		req, err := do.NewRequest(ctx, method, path, nil)
		must(err)
		_, err = do.Do(ctx, req, nil)
		must(err)
	}
	raw("GET", "v2/volumes/snapshots/"+snap.ID)
	restored, _, err := do.Storage.CreateVolume(ctx, &godo.VolumeCreateRequest{Name: "pgdata-copy", Region: "fra1", SizeGigaBytes: 10, SnapshotID: snap.ID})
	must(err)
	_, _, err = do.Storage.CreateVolume(ctx, &godo.VolumeCreateRequest{Name: "pgdata-far", Region: "ams3", SizeGigaBytes: 10, SnapshotID: snap.ID})
	want(422, err)
	_, err = do.Storage.DeleteVolume(ctx, restored.ID)
	must(err)
	a, _, err = do.StorageActions.DetachByDropletID(ctx, vol.ID, multi[1].ID)
	must(err)
	waitAction(t, do, a.ID)
	_, err = do.Storage.DeleteVolume(ctx, vol.ID)
	must(err)
	_, _, err = do.Storage.GetSnapshot(ctx, snap.ID)
	must(err) // a volume snapshot outlives its volume
	snap2, _, err := do.Storage.CreateSnapshot(ctx, &godo.SnapshotCreateRequest{VolumeID: restored.ID, Name: "gone"})
	want(404, err)
	_ = snap2
	_, err = do.Storage.DeleteSnapshot(ctx, snap.ID)
	must(err)
	_, _, err = do.Storage.GetSnapshot(ctx, snap.ID)
	want(404, err)

	_, err = do.Droplets.Delete(ctx, single.ID)
	must(err)
	_, err = do.Droplets.DeleteByTag(ctx, "web")
	must(err)
	_, err = do.Tags.Delete(ctx, "web")
	must(err)

	_, _, err = newClient(t, hs.URL, "wrong").Droplets.List(ctx, nil)
	want(401, err)
	labRequest(t, l, "POST", "/_lab/faults", `{"status":429,"count":1,"retry_after":1}`)
	_, _, err = do.Droplets.List(ctx, nil)
	want(429, err)
	labRequest(t, l, "POST", "/_lab/faults", `{"status":500,"count":1}`)
	_, _, err = do.Droplets.List(ctx, nil)
	want(500, err)

	for _, p := range c.problems {
		t.Error(p)
	}
	implemented := []string{
		"account_get", "regions_list", "sizes_list", "images_list", "images_get",
		"sshKeys_list", "sshKeys_create", "sshKeys_get", "sshKeys_delete",
		"tags_list", "tags_create", "tags_get", "tags_delete", "tags_assign_resources", "tags_unassign_resources",
		"droplets_list", "droplets_create", "droplets_get", "droplets_destroy", "droplets_destroy_byTag",
		"dropletActions_list", "dropletActions_post", "dropletActions_post_byTag", "dropletActions_get",
		"actions_list", "actions_get",
		"volumes_list", "volumes_create", "volumes_get", "volumes_delete", "volumeActions_post_byId",
		"volumeSnapshots_list", "volumeSnapshots_create", "volumeSnapshots_get_byId",
		"snapshots_list", "snapshots_get", "snapshots_delete", "snapshots_get 404", "volumeSnapshots_create 404", "volumes_create 422",
		"droplets_list 401", "droplets_list 429", "droplets_list 500", "droplets_get 404", "droplets_create 422",
	}
	var missed []string
	for _, op := range implemented {
		if !c.seen[op] {
			missed = append(missed, op)
		}
	}
	if len(missed) > 0 {
		seen := make([]string, 0, len(c.seen))
		for k := range c.seen {
			seen = append(seen, k)
		}
		sort.Strings(seen)
		t.Errorf("not exercised: %v\nseen: %v", missed, seen)
	}
}
