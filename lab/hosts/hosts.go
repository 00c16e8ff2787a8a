// Package hosts runs the machines behind the lab's droplets: per droplet, a
// real OpenSSH sshd and a prometheus-node-exporter bound to the droplet's own
// loopback address. sshd runs chrooted into an overlay of / in its own mount
// and UTS namespaces, so what a playbook writes on one droplet lands in that
// droplet's upper directory only, and its hostname is the droplet's name.
// It needs root, unshare, mount with overlayfs, sshd and the node exporter.
package hosts

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Spec describes one droplet's host.
type Spec struct {
	ID             int
	Name           string
	IP             string   // loopback address sshd and the exporter bind
	AuthorizedKeys []string // OpenSSH public key lines accepted for root
	// NoExporter starts the host without its node exporter, as a droplet
	// fresh from the image: lab/playbooks/monitoring.yml installs one.
	NoExporter bool
	Mounts     []Mount // attached volumes, mounted before sshd starts
}

// Manager starts and stops hosts; each host keeps its files under Dir/ID.
type Manager struct {
	Dir      string
	Sshd     string // default /usr/sbin/sshd
	Exporter string // default prometheus-node-exporter from PATH
	mu       sync.Mutex
	running  map[int]*host
}

type host struct {
	spec     Spec
	sshd     *exec.Cmd
	exporter *exec.Cmd
	exited   chan struct{} // closed when sshd's wrapper exits
	// closed when the exporter exits
	exporterExited chan struct{}
}

// NewManager checks the tools hosts need and prepares dir.
func NewManager(dir string) (*Manager, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("droplet hosts need root (mount namespaces, overlayfs, sshd on port 22); run as root or pass --no-hosts")
	}
	m := &Manager{Dir: dir, Sshd: "/usr/sbin/sshd", running: map[int]*host{}}
	var missing []string
	for _, tool := range []string{"unshare", "mount", "chroot", "ssh-keygen", "prometheus-node-exporter"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if _, err := os.Stat(m.Sshd); err != nil {
		missing = append(missing, m.Sshd)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("droplet hosts need %s: apt-get install openssh-server prometheus-node-exporter util-linux", strings.Join(missing, ", "))
	}
	m.Exporter, _ = exec.LookPath("prometheus-node-exporter")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Manager) hostDir(id int) string { return filepath.Join(m.Dir, strconv.Itoa(id)) }

// Start brings up the host's sshd and node exporter and returns once both
// accept connections. Starting a running host does nothing.
func (m *Manager) Start(spec Spec) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.running[spec.ID]; ok {
		return nil
	}
	dir := m.hostDir(spec.ID)
	upper, work, root := filepath.Join(dir, "upper"), filepath.Join(dir, "work"), filepath.Join(dir, "root")
	conf := filepath.Join(upper, "etc/ssh/lab")
	for _, d := range []string{work, root, conf, filepath.Join(upper, "run/sshd")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	killStale(dir)
	if err := freshHome(filepath.Join(upper, "root")); err != nil {
		return fmt.Errorf("droplet %d: root's home: %w", spec.ID, err)
	}
	if err := writeSSHConfig(conf, spec); err != nil {
		return err
	}
	logf, err := os.OpenFile(filepath.Join(dir, "host.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()

	// The overlay's lower layer is /, and its upper layer holds sshd's own
	// files (under /etc/ssh/lab inside the chroot) plus whatever playbooks write.
	script := fmt.Sprintf(`set -e
hostname %[1]s
mount -t overlay overlay -o lowerdir=/,upperdir=%[2]s,workdir=%[3]s %[4]s
mount --bind /proc %[4]s/proc
mount --rbind /dev %[4]s/dev
%[6]sexec chroot %[4]s %[5]s -D -e -f /etc/ssh/lab/sshd_config`, shellQuote(spec.Name), upper, work, root, m.Sshd, mountScript(root, spec.Mounts))
	sshd := exec.Command("unshare", "--mount", "--uts", "--propagation", "private", "sh", "-c", script)
	sshd.Stdout, sshd.Stderr = logf, logf
	sshd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := sshd.Start(); err != nil {
		return fmt.Errorf("start sshd for droplet %d: %w", spec.ID, err)
	}
	h := &host{spec: spec, sshd: sshd, exited: make(chan struct{})}
	go func() { sshd.Wait(); close(h.exited) }()
	writePid(dir, "sshd.pid", sshd.Process.Pid)

	if err := waitReady(sshBanner(net.JoinHostPort(spec.IP, "22")), h.exited, 10*time.Second); err != nil {
		m.stopHost(h)
		return fmt.Errorf("droplet %d: sshd on %s: %w (see %s)", spec.ID, spec.IP, err, filepath.Join(dir, "host.log"))
	}

	if spec.NoExporter {
		m.running[spec.ID] = h
		return nil
	}
	exp := exec.Command(m.Exporter, "--web.listen-address="+net.JoinHostPort(spec.IP, "9100"),
		"--collector.disable-defaults", "--collector.cpu", "--collector.meminfo", "--collector.loadavg",
		"--collector.filesystem", "--collector.uname", "--collector.time",
		// The host detail graphs network traffic (the machine's: droplets
		// share its network namespace).
		"--collector.netdev", "--collector.netdev.device-exclude=^lo$")
	exp.Stdout, exp.Stderr = logf, logf
	exp.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := exp.Start(); err != nil {
		m.stopHost(h)
		return fmt.Errorf("start node exporter for droplet %d: %w", spec.ID, err)
	}
	h.exporter, h.exporterExited = exp, make(chan struct{})
	go func() { exp.Wait(); close(h.exporterExited) }()
	writePid(dir, "exporter.pid", exp.Process.Pid)
	if err := waitReady(exporterUp(net.JoinHostPort(spec.IP, "9100")), h.exporterExited, 10*time.Second); err != nil {
		m.stopHost(h)
		return fmt.Errorf("droplet %d: node exporter on %s: %w (see %s)", spec.ID, spec.IP, err, filepath.Join(dir, "host.log"))
	}
	m.running[spec.ID] = h
	return nil
}

// Stop stops the host's processes, keeping its files.
func (m *Manager) Stop(id int) error {
	m.mu.Lock()
	h := m.running[id]
	delete(m.running, id)
	m.mu.Unlock()
	if h == nil {
		return nil
	}
	m.stopHost(h)
	return nil
}

func (m *Manager) stopHost(h *host) {
	dir := m.hostDir(h.spec.ID)
	stop(h.sshd, h.exited)
	killNamespace(dir)
	if h.exporter != nil {
		stop(h.exporter, h.exporterExited)
	}
	os.Remove(filepath.Join(dir, "sshd.pid"))
	os.Remove(filepath.Join(dir, "exporter.pid"))
}

// Remove stops the host and deletes its files (the droplet's filesystem).
func (m *Manager) Remove(id int) error {
	if err := m.Stop(id); err != nil {
		return err
	}
	dir := m.hostDir(id)
	killStale(dir)
	return os.RemoveAll(dir)
}

// Close stops every host.
func (m *Manager) Close() error {
	m.mu.Lock()
	hs := m.running
	m.running = map[int]*host{}
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, h := range hs {
		wg.Add(1)
		go func() { defer wg.Done(); m.stopHost(h) }()
	}
	wg.Wait()
	return nil
}

func writeSSHConfig(conf string, spec Spec) error {
	key := filepath.Join(conf, "ssh_host_ed25519_key")
	if _, err := os.Stat(key); err != nil {
		out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", spec.Name, "-f", key).CombinedOutput()
		if err != nil {
			return fmt.Errorf("host key for droplet %d: %v: %s", spec.ID, err, out)
		}
	}
	keys := strings.Join(spec.AuthorizedKeys, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(conf, "authorized_keys"), []byte(keys), 0o600); err != nil {
		return err
	}
	cfg := fmt.Sprintf(`ListenAddress %s:22
HostKey /etc/ssh/lab/ssh_host_ed25519_key
AuthorizedKeysFile /etc/ssh/lab/authorized_keys
PidFile /run/sshd-lab.pid
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
Subsystem sftp /usr/lib/openssh/sftp-server
`, spec.IP)
	return os.WriteFile(filepath.Join(conf, "sshd_config"), []byte(cfg), 0o644)
}

// freshHome gives the host an empty /root, as on a new droplet, instead of
// the machine's (whose shell profile may run tools that hold locks there):
// an opaque directory in the upper layer hides the lower one.
func freshHome(home string) error {
	if _, err := os.Stat(home); err == nil {
		return nil
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}
	if err := syscall.Setxattr(home, "trusted.overlay.opaque", []byte("y"), 0); err != nil {
		os.Remove(home)
		return err
	}
	for _, f := range []string{".bashrc", ".profile"} {
		if b, err := os.ReadFile(filepath.Join("/etc/skel", f)); err == nil {
			os.WriteFile(filepath.Join(home, f), b, 0o644)
		}
	}
	return nil
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// waitReady polls check until it passes, the process exits or timeout
// passes.
func waitReady(check func() error, exited <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return errors.New("exited before serving")
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not serving after %s: %v", timeout, err)
		}
	}
}

// sshBanner checks that an SSH server (not merely some listener) answers.
func sshBanner(addr string) func() error {
	return func() error {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(time.Second))
		buf := make([]byte, 4)
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "SSH-" {
			return fmt.Errorf("%s does not answer as an SSH server", addr)
		}
		return nil
	}
}

// exporterUp checks that a node exporter answers on addr.
func exporterUp(addr string) func() error {
	client := &http.Client{Timeout: time.Second}
	return func() error {
		res, err := client.Get("http://" + addr + "/")
		if err != nil {
			return err
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "Node Exporter") {
			return fmt.Errorf("%s does not answer as a node exporter", addr)
		}
		return nil
	}
}

// stop sends SIGTERM to the process group, then SIGKILL after 3 s.
func stop(cmd *exec.Cmd, exited <-chan struct{}) {
	pgid := cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(3 * time.Second):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-exited
	}
	// sshd's session children leave its process group; kill what remains.
	syscall.Kill(-pgid, syscall.SIGKILL)
}

// killNamespace kills every process still living in the mount namespace the
// host's sshd ran in: SSH sessions (Ansible's python) that sshd forked into
// new sessions. It finds them by their root directory, the host's chroot.
func killNamespace(dir string) {
	root := filepath.Join(dir, "root")
	for range 3 {
		found := false
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			if r, err := os.Readlink(fmt.Sprintf("/proc/%d/root", pid)); err == nil && r == root {
				syscall.Kill(pid, syscall.SIGKILL)
				found = true
			}
		}
		if !found {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func writePid(dir, name string, pid int) {
	os.WriteFile(filepath.Join(dir, name), []byte(strconv.Itoa(pid)), 0o644)
}

// killStale kills processes left by an emulator that died without stopping
// its hosts: those recorded in the pid files and those chrooted in dir.
func killStale(dir string) {
	for _, name := range []string{"sshd.pid", "exporter.pid"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 1 {
			continue
		}
		// Only kill a process that still looks like ours.
		if cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil &&
			(strings.Contains(string(cmd), dir) || strings.Contains(string(cmd), "node-exporter")) {
			syscall.Kill(-pid, syscall.SIGKILL)
			syscall.Kill(pid, syscall.SIGKILL)
		}
		os.Remove(filepath.Join(dir, name))
	}
	killNamespace(dir)
}
