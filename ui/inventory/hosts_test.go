package inventory_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ui/app"
	"github.com/vigilops/vigil/ui/common"
)

// shellRec stands for the session's terminal: it records the command
// lines it is asked to run, and ends each as end says, with what ssh
// would have written to its -E log.
type shellRec struct {
	mu      sync.Mutex
	argvs   [][]string
	banners []string
	said    string
	end     error
}

func (r *shellRec) run(sh common.ShellCommand, done tea.ExecCallback) tea.Cmd {
	argv := sh.Argv
	r.mu.Lock()
	r.argvs = append(r.argvs, slices.Clone(argv))
	r.banners = append(r.banners, sh.Banner)
	said, end := r.said, r.end
	r.mu.Unlock()
	return func() tea.Msg {
		if i := slices.Index(argv, "-E"); i >= 0 && said != "" {
			os.WriteFile(argv[i+1], []byte(said), 0o600)
		}
		return done(end)
	}
}

func (r *shellRec) runs() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.argvs)
}

// exitError is how exec reports a command that exited with code.
func exitError(t *testing.T, code string) error {
	t.Helper()
	err := exec.Command("sh", "-c", "exit "+code).Run()
	var x *exec.ExitError
	if !errors.As(err, &x) {
		t.Fatalf("exit %s: %v", code, err)
	}
	return err
}

func withKnownHosts(t *testing.T) func(*inventory.Options) {
	kh := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(kh, nil, 0o600)
	return func(o *inventory.Options) { o.SSH = inventory.SSHOptions{User: "root", KnownHosts: kh} }
}

func toasts(e *env) []string {
	var out []string
	for _, m := range e.Msgs {
		if t, ok := m.(common.ToastMsg); ok {
			out = append(out, t.Text)
		}
	}
	return out
}

func journalActions(t *testing.T, j *audit.Journal, target string) []string {
	t.Helper()
	es, err := j.Query(audit.Query{Target: target})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Action+" "+string(e.Result))
	}
	return out
}

// A HostDown alert's jump (its h is a GotoMsg to the host) then s: the
// shell runs on that host, not the one the cursor was on, with ssh's
// own messages sent to a file; its end is journaled after its start.
func TestSSHFromAJumpRunsOnThatHostAndJournalsTheEnd(t *testing.T) {
	e := setup(t, fleet(), 120, 40, withKnownHosts(t))
	sh := &shellRec{}
	e.ctx.Exec = sh.run
	keys := 0
	e.Drive(e.m.Update(common.GotoMsg{Pane: common.InventoryPane, Target: "web-02"})) // the alert's h
	keys++
	e.Press("s")
	keys++
	runs := sh.runs()
	if len(runs) != 1 {
		t.Fatalf("%d shells run, want 1; toasts %q", len(runs), toasts(e))
	}
	argv := runs[0]
	if argv[0] != "ssh" || argv[1] != "-E" || !strings.HasPrefix(filepath.Base(argv[2]), "vigil-ssh-") ||
		!slices.Equal(argv[len(argv)-2:], []string{"--", "127.0.1.12"}) || !slices.Contains(argv, "StrictHostKeyChecking=yes") {
		t.Fatalf("argv %q", argv)
	}
	if got := sh.banners[0]; got != "vigil: ssh to web-02 (127.0.1.12): the console comes back when the shell ends" {
		t.Errorf("banner %q", got)
	}
	if _, err := os.Stat(argv[2]); !os.IsNotExist(err) {
		t.Errorf("ssh's log %s left behind: %v", argv[2], err)
	}
	if keys > 3 {
		t.Fatalf("%d keys from the alert to a shell", keys)
	}
	if got := toasts(e); len(got) == 0 || got[len(got)-1] != "shell on web-02 closed" {
		t.Fatalf("toasts %q", got)
	}
	if got := journalActions(t, e.journal, "host/web-02"); !slices.Equal(got, []string{"open a shell on a host ok", "end a shell on a host ok"}) {
		t.Fatalf("journal of web-02: %q", got)
	}
}

// An unreachable host: ssh's own error in the toast, the console intact.
func TestSSHToAnUnreachableHostSaysSSHsError(t *testing.T) {
	e := setup(t, fleet(), 120, 40, withKnownHosts(t))
	sh := &shellRec{said: "ssh: connect to host 127.0.1.12 port 22: Connection refused\r\n", end: exitError(t, "255")}
	e.ctx.Exec = sh.run
	e.Drive(e.m.Update(common.GotoMsg{Pane: common.InventoryPane, Target: "web-02"}))
	e.Press("s")
	if got, _ := last[common.ToastMsg](e); got.Level != common.Error || got.Text != "ssh web-02: ssh: connect to host 127.0.1.12 port 22: Connection refused" {
		t.Fatalf("toast %+v", got)
	}
	if v := ansi.Strip(e.m.View()); !strings.Contains(v, "web-02  (id 2)") {
		t.Fatalf("the detail is gone:\n%s", v)
	}
	es, _ := e.journal.Query(audit.Query{Target: "host/web-02"})
	if len(es) != 2 || es[1].Action != "end a shell on a host" || es[1].Result == audit.OK {
		t.Fatalf("journal %+v", es)
	}

	// The remote shell's own status is the user's business: not an error.
	sh.mu.Lock()
	sh.said, sh.end = "", exitError(t, "3")
	sh.mu.Unlock()
	e.Press("s")
	if got, _ := last[common.ToastMsg](e); got.Level != common.Info || got.Text != "shell on web-02 closed (exit 3)" {
		t.Fatalf("toast %+v", got)
	}
}

// A jump to a host the inventory does not list opens no shell on the
// host under the cursor.
func TestSSHAfterAJumpToAMissingHostRefuses(t *testing.T) {
	e := setup(t, fleet(), 120, 40, withKnownHosts(t))
	sh := &shellRec{}
	e.ctx.Exec = sh.run
	e.Drive(e.m.Update(common.GotoMsg{Pane: common.InventoryPane, Target: "gone-01"}))
	e.Press("s")
	if n := len(sh.runs()); n != 0 {
		t.Fatalf("%d shells run after a jump to a missing host", n)
	}
	if got := toasts(e); len(got) != 2 || !strings.Contains(got[0], "no host gone-01 in the inventory") || !strings.Contains(got[1], "no shell: gone-01") {
		t.Fatalf("toasts %q", got)
	}
}

// Viewers have the binding disabled with the reason, and the service
// refuses them anyway.
func TestSSHRefusedToViewers(t *testing.T) {
	e := setup(t, fleet(), 120, 40, withKnownHosts(t))
	e.ctx.Actor.Role = access.Viewer
	sh := &shellRec{}
	e.ctx.Exec = sh.run
	common.Disable(e.m.Bindings(), e.ctx.WhoMayNotAct())
	if why := common.DisabledWhy(e.m.Bindings(), "s"); why != "viewers may not open a shell" {
		t.Fatalf("why: %q", why)
	}
	e.Press("s")
	if n := len(sh.runs()); n != 0 || len(toasts(e)) != 0 {
		t.Fatalf("a viewer's s: %d shells, toasts %q", n, toasts(e))
	}
	if _, err := e.svc.OpenSSH(context.Background(), e.ctx.Actor, "web-01"); !access.IsRefusal(err) {
		t.Fatalf("OpenSSH for a viewer: %v", err)
	}
}

// In the console, a viewer's s says why it does nothing.
func TestSSHViewerToldWhyInTheConsole(t *testing.T) {
	e := setup(t, fleet(), 120, 40, withKnownHosts(t))
	sh := &shellRec{}
	cfg := &config.Config{Identity: config.Identity{Name: "bob", Role: "viewer"}, DigitalOcean: &config.DigitalOcean{}}
	s := newShell(t, cfg, &common.Services{Inventory: e.svc}, e.journal, func() time.Time { return t0 }, 120, 40, func(o *app.Options) {
		o.Actor = access.Actor{Name: "bob", Role: access.Viewer, Source: "ssh"}
		o.Exec = sh.run
	})
	s.waitFor(10*time.Second, "web-01")
	s.keys("s")
	s.waitFor(5*time.Second, "viewers may not open a shell")
	s.keys("enter s")
	s.waitFor(5*time.Second, "(id ", "viewers may not open a shell")
	if n := len(sh.runs()); n != 0 {
		t.Fatalf("%d shells for a viewer", n)
	}
	s.final()
}
