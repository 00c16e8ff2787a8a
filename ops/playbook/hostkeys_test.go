package playbook

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/inventory"
)

// keysByAddr answers Check from a table: a fingerprint recorded on first
// contact, or a changed key (the real file is integrations/hostkeys).
type keysByAddr map[string]error

func (k keysByAddr) Check(_ context.Context, addr string) (inventory.HostKey, error) {
	if err := k[addr]; err != nil {
		return inventory.HostKey{Addr: addr}, err
	}
	return inventory.HostKey{Addr: addr, Fingerprint: "SHA256:first-" + addr, Recorded: true}, nil
}
func (keysByAddr) Trust(context.Context, string) (inventory.HostKey, error) {
	return inventory.HostKey{}, errors.New("not used")
}
func (keysByAddr) File() string { return "known_hosts" }

// A host whose key changed refuses the whole run before anything starts,
// journaled with the fingerprints; keys met for the first time are kept on
// the run and in the journal.
func TestHostKeysCheckedBeforeARun(t *testing.T) {
	f := setup(t, &replay{lines: recording(t)})
	ctx := context.Background()
	keys := keysByAddr{"127.0.80.3": &inventory.HostKeyChangedError{Addr: "127.0.80.3", Recorded: "SHA256:old", Presents: "SHA256:new"}}
	f.svc.opt.HostKeys = keys

	_, err := f.svc.Start(ctx, ops, Request{Playbook: "site.yml", Target: Target{Kind: TargetTag, Name: "web"}})
	var changed *inventory.HostKeyChangedError
	if !errors.As(err, &changed) || changed.Host != "b" || !strings.Contains(err.Error(), "b (127.0.80.3)") {
		t.Fatalf("a run on a host whose key changed: %v", err)
	}
	if len(f.svc.Runs()) != 0 || len(f.runner.specs) != 0 {
		t.Fatalf("a refused run started: %d runs, %d specs", len(f.svc.Runs()), len(f.runner.specs))
	}
	es, _ := f.journal.Query(audit.Query{})
	if len(es) != 1 || es[0].Result == audit.OK || !strings.Contains(es[0].Error, "SHA256:old") || !strings.Contains(es[0].Error, "SHA256:new") {
		t.Fatalf("journal: %+v", es)
	}

	delete(keys, "127.0.80.3")
	id, err := f.svc.Start(ctx, ops, Request{Playbook: "site.yml", Target: Target{Kind: TargetTag, Name: "web"}})
	if err != nil {
		t.Fatal(err)
	}
	run := f.wait(t, id)
	if run.KeysRecorded["a"] != "SHA256:first-127.0.80.2" || run.KeysRecorded["b"] != "SHA256:first-127.0.80.3" {
		t.Fatalf("keys recorded on first contact: %v", run.KeysRecorded)
	}
	es, _ = f.journal.Query(audit.Query{})
	if p := es[len(es)-1].Parameters; p["key_recorded.a"] != "SHA256:first-127.0.80.2" {
		t.Fatalf("journal of the run: %+v", es[len(es)-1])
	}
}
