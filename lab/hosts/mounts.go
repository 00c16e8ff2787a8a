package hosts

import (
	"fmt"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
)

// Mount shows a directory of the machine inside a host, the way an attached
// block-storage volume shows up on a droplet: Source is the machine's
// directory (the volume's data), Target an absolute path inside the host.
// The bind mount lives in the host's own mount namespace only, so removing
// the host's files never reaches into the volume.
type Mount struct {
	Source string
	Target string
}

// mountScript is the shell that bind-mounts ms under root (the host's
// filesystem as seen from its namespace, before the chroot).
func mountScript(root string, ms []Mount) string {
	s := ""
	for _, m := range ms {
		dst := filepath.Join(root, path.Clean("/"+m.Target))
		s += fmt.Sprintf("mkdir -p %[1]s %[2]s && mount --bind %[1]s %[2]s\n", shellQuote(m.Source), shellQuote(dst))
	}
	return s
}

// Mount bind-mounts mt into the running host id; a host that is not
// running gets its mounts from its Spec when it starts.
func (m *Manager) Mount(id int, mt Mount) error {
	return m.inHost(id, mountScript(m.rootDir(id), []Mount{mt}))
}

// Unmount removes the mount at target from the running host id.
func (m *Manager) Unmount(id int, target string) error {
	dst := shellQuote(filepath.Join(m.rootDir(id), path.Clean("/"+target)))
	return m.inHost(id, fmt.Sprintf("if mountpoint -q %[1]s; then umount -l %[1]s; fi; rmdir %[1]s 2>/dev/null || true", dst))
}

func (m *Manager) rootDir(id int) string { return filepath.Join(m.hostDir(id), "root") }

// inHost runs script in the mount namespace of host id's sshd; a host that is
// not running is left alone.
func (m *Manager) inHost(id int, script string) error {
	m.mu.Lock()
	h := m.running[id]
	m.mu.Unlock()
	if h == nil {
		return nil
	}
	out, err := exec.Command("nsenter", "--target", strconv.Itoa(h.sshd.Process.Pid), "--mount", "--", "sh", "-c", "set -e\n"+script).CombinedOutput()
	if err != nil {
		return fmt.Errorf("droplet %d: %v: %s", id, err, out)
	}
	return nil
}
