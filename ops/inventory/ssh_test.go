package inventory

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
)

func TestSSHArgvChecksHostKeysStrictly(t *testing.T) {
	argv, err := SSHArgv("203.0.113.5", SSHOptions{User: "root", PrivateKey: "/k/id", KnownHosts: "/state/known_hosts"}, "true")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ssh", "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=/state/known_hosts", "-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "UpdateHostKeys=no", "-o", "ConnectTimeout=10", "-o", "IdentitiesOnly=yes", "-i", "/k/id", "-l", "root", "--", "203.0.113.5", "true"}
	if !slices.Equal(argv, want) {
		t.Fatalf("argv\n%q\nwant\n%q", argv, want)
	}
	for _, bad := range []string{"", "-oProxyCommand=sh", "web-1"} {
		if _, err := SSHArgv(bad, SSHOptions{KnownHosts: "/k"}); err == nil {
			t.Errorf("address %q accepted", bad)
		}
	}
	if _, err := SSHArgv("203.0.113.5", SSHOptions{}); err == nil {
		t.Error("no known_hosts accepted")
	}
}

// keys is a HostKeys with one recorded key per address.
type keys struct {
	recorded map[string]string
	presents map[string]string
}

func (k *keys) Check(_ context.Context, addr string) (HostKey, error) {
	p := k.presents[addr]
	switch r, ok := k.recorded[addr]; {
	case !ok:
		k.recorded[addr] = p
		return HostKey{Addr: addr, Fingerprint: p, Recorded: true}, nil
	case r != p:
		return HostKey{}, &HostKeyChangedError{Addr: addr, Recorded: r, Presents: p}
	}
	return HostKey{Addr: addr, Fingerprint: p}, nil
}
func (k *keys) Trust(context.Context, string) (HostKey, error) { return HostKey{}, nil }
func (k *keys) File() string                                   { return "/state/known_hosts" }

func TestSSHSessionJournaledAndViewersRefused(t *testing.T) {
	c := &cloud{hosts: map[int]Host{
		1: {ID: 1, Name: "web-1", PublicIPv4: "203.0.113.5"},
		2: {ID: 2, Name: "web-2", PublicIPv4: "203.0.113.6"},
		3: {ID: 3, Name: "new-1"},
	}}
	j, err := audit.Open(filepath.Join(t.TempDir(), "j.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	j.Now = fixedNow
	now := epoch
	k := &keys{recorded: map[string]string{"203.0.113.6": "SHA256:old"}, presents: map[string]string{"203.0.113.5": "SHA256:web1", "203.0.113.6": "SHA256:new"}}
	s := New(c, j, Options{Now: func() time.Time { return now }, HostKeys: k, SSH: SSHOptions{User: "root", PrivateKey: "/k/id"}})
	ctx := context.Background()
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}

	viewer := access.Actor{Name: "victor", Role: access.Viewer}
	if _, err := s.OpenSSH(ctx, viewer, "web-1"); !access.IsRefusal(err) || !strings.Contains(err.Error(), "may not open a shell on a host: it needs the operator role") {
		t.Fatalf("a viewer: %v", err)
	}
	if _, err := s.OpenSSH(ctx, bob, "new-1"); err == nil || !strings.Contains(err.Error(), "no host named new-1 with a public address") {
		t.Fatalf("a host without address: %v", err)
	}
	var changed *HostKeyChangedError
	if _, err := s.OpenSSH(ctx, bob, "web-2"); !errors.As(err, &changed) || !access.IsRefusal(err) || changed.Host != "web-2" {
		t.Fatalf("a changed key: %v", err)
	}

	sess, err := s.OpenSSH(ctx, bob, "web-1")
	if err != nil {
		t.Fatal(err)
	}
	if sess.Host != "web-1" || sess.Addr != "203.0.113.5" || sess.KeyRecorded != "SHA256:web1" || !sess.Start.Equal(epoch) ||
		!slices.Contains(sess.Argv, "UserKnownHostsFile=/state/known_hosts") || sess.Argv[len(sess.Argv)-1] != "203.0.113.5" {
		t.Fatalf("session %+v", sess)
	}
	now = epoch.Add(90 * time.Second)
	if err := sess.Close(ctx, errors.New("exit status 255")); err != nil {
		t.Fatal(err)
	}
	if err := sess.Close(ctx, nil); err != nil || !sess.End.Equal(now) {
		t.Fatalf("a second close: %v, end %v", err, sess.End)
	}
	es, _ := j.Query(audit.Query{})
	var got []string
	for _, e := range es {
		got = append(got, e.Actor+" "+e.Action+" "+e.Target+" "+string(e.Result)+" "+e.Parameters["duration"])
	}
	want := []string{
		"victor open a shell on a host host/web-1 refused ",
		"bob open a shell on a host host/web-2 refused ",
		"bob open a shell on a host host/web-1 ok ",
		"bob end a shell on a host host/web-1 failed 1m30s",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("journal\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if last := es[len(es)-1]; last.Parameters["start"] == "" || last.Parameters["end"] == "" || last.Parameters["session"] != sess.ID {
		t.Fatalf("end entry %+v", last)
	}
}
