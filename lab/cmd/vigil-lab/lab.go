package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/vigilops/vigil/lab/internal/daemon"
	"github.com/vigilops/vigil/lab/internal/labstate"
	"github.com/vigilops/vigil/lab/kube"
	"github.com/vigilops/vigil/lab/monitoring"
)

// lab is one state dir and what lives in it.
type lab struct {
	state   string
	ports   labstate.Ports
	daemons daemon.Set
	mon     monitoring.Files
	out     io.Writer
}

func openLab(out io.Writer) *lab {
	dir, _ := filepath.Abs(labstate.Dir())
	return &lab{state: dir, daemons: daemon.Set{Dir: dir}, mon: monitoring.Files{State: dir}, out: out}
}

func (l *lab) path(elem ...string) string {
	return filepath.Join(append([]string{l.state}, elem...)...)
}

func (l *lab) kubeconfig() string { return l.path("kubeconfig") }
func (l *lab) envFile() string    { return l.path("lab.env") }
func (l *lab) tokenFile() string  { return l.path("digitalocean-token") }
func (l *lab) sshKey() string     { return l.path("ssh", "id_ed25519") }
func (l *lab) selfBinary() string { return l.path("bin", "vigil-lab") }

func (l *lab) cluster(bin string) kube.Cluster {
	return kube.Cluster{Bin: bin, Workdir: l.path("kwok"), Kubeconfig: l.kubeconfig(), Ports: l.ports,
		LogFile: l.daemons.LogFile("kwokctl")}
}

func (l *lab) url(port int) string { return "http://127.0.0.1:" + strconv.Itoa(port) }

// daemonSpec is one daemon that up starts and down stops, and how to tell
// it is healthy.
type daemonSpec struct {
	name   string
	port   int
	argv   []string
	health func() error
}

// daemonSpecs lists the daemons in start order (down stops them in reverse).
func (l *lab) daemonSpecs(token string) []daemonSpec {
	p := l.ports
	self := l.selfBinary()
	emulatorArgs := []string{
		self, "emulator", "--listen", "127.0.0.1:" + strconv.Itoa(p.Emulator),
		"--state-dir", l.path("emulator"), "--token", token,
		"--ssh-pubkey", l.sshKey() + ".pub", "--file-sd", filepath.Join(l.mon.FileSDDir(), "droplets.json"),
	}
	if base := os.Getenv("VIGIL_LAB_IP_BASE"); base != "" {
		// A second lab on the machine gives its droplets, load balancers
		// and nftables table addresses of their own.
		emulatorArgs = append(emulatorArgs, "--ip-base", base)
	}
	if os.Geteuid() != 0 {
		// Droplet hosts need root (mount namespaces, sshd on port 22).
		emulatorArgs = append(emulatorArgs, "--no-hosts")
	}
	return []daemonSpec{
		{"prometheus", p.Prometheus, l.mon.PrometheusArgs(p), func() error { return httpOK(l.url(p.Prometheus)+"/-/ready", "") }},
		{"alertmanager", p.Alertmanager, l.mon.AlertmanagerArgs(p), func() error { return httpOK(l.url(p.Alertmanager)+"/-/ready", "") }},
		{"alertmanager-2", p.Alertmanager2, l.mon.Alertmanager2Args(p), func() error { return l.amPeered(p.Alertmanager2) }},
		{"emulator", p.Emulator, emulatorArgs, func() error { return httpOK(l.url(p.Emulator)+"/v2/account", token) }},
		{"exporter", p.Exporter, []string{
			self, "exporter", "--kubeconfig", l.kubeconfig(), "--listen", "127.0.0.1:" + strconv.Itoa(p.Exporter),
			"--pod-logs", l.path("podlogs"),
		}, func() error { return httpOK(l.url(p.Exporter)+"/healthz", "") }},
		{"postgres", p.Postgres, l.pgArgs(), l.pgHealth},
	}
}

// token reads the DigitalOcean token kept in the state dir.
func (l *lab) token() (string, error) {
	b, err := os.ReadFile(l.tokenFile())
	if err != nil {
		return "", err
	}
	return string(bytes.TrimSpace(b)), nil
}

// installSelf copies the running binary into the state dir, so that the
// daemons it starts outlive `go run`'s temporary build and name the state
// dir on their command line.
func (l *lab) installSelf() error {
	src, err := os.Executable()
	if err != nil {
		return err
	}
	if same, _ := filepath.EvalSymlinks(src); same == l.selfBinary() {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(l.selfBinary()), 0o755); err != nil {
		return err
	}
	tmp := l.selfBinary() + ".new"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	// A rename leaves daemons running the previous binary undisturbed.
	return os.Rename(tmp, l.selfBinary())
}

// labDir finds the lab module (for its toolchain and playbooks): $VIGIL_LAB_DIR,
// else the current directory or a parent holding the lab's go.mod, or the lab/
// directory of the repository.
func labDir() (string, error) {
	if d := os.Getenv("VIGIL_LAB_DIR"); d != "" {
		return filepath.Abs(d)
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		for _, cand := range []string{dir, filepath.Join(dir, "lab")} {
			if b, err := os.ReadFile(filepath.Join(cand, "go.mod")); err == nil &&
				bytes.HasPrefix(b, []byte("module github.com/vigilops/vigil/lab\n")) {
				return cand, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find the lab module (lab/go.mod): run vigil-lab from the repository or set VIGIL_LAB_DIR")
		}
		dir = parent
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func logf(w io.Writer, format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
