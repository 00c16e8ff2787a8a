package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// debianPackages are the Debian packages the lab runs, each with a command
// that tells whether it is installed.
var debianPackages = []struct{ pkg, command string }{
	{"prometheus", "prometheus"},
	{"prometheus-alertmanager", "prometheus-alertmanager"},
	{"prometheus-node-exporter", "prometheus-node-exporter"},
	{"ansible", "ansible-playbook"},
	{"python3-ansible-runner", "ansible-runner"},
	{"openssh-server", "/usr/sbin/sshd"},
	{"openssh-client", "ssh-keygen"},
	{"tmux", "tmux"},
	{"nftables", "nft"},      // the emulator's firewalls (see README)
	{"postgresql", "initdb"}, // Debian keeps it in /usr/lib/postgresql/N/bin: see pgBin
}

// ensurePackages installs the missing packages with apt-get when running as
// root on Debian, and otherwise says how to install them.
func ensurePackages(l *lab) error {
	var missing []string
	for _, p := range debianPackages {
		if !installed(p.command) {
			missing = append(missing, p.pkg)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	line := "apt-get install -y " + strings.Join(missing, " ")
	_, aptErr := exec.LookPath("apt-get")
	if os.Geteuid() != 0 || aptErr != nil {
		return fmt.Errorf("missing Debian packages %s; install them with:\n  sudo %s", strings.Join(missing, ", "), line)
	}
	logf(l.out, "installing %s", strings.Join(missing, " "))
	for _, args := range [][]string{{"update"}, append([]string{"install", "-y"}, missing...)} {
		cmd := exec.Command("apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = l.out, l.out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("apt-get %s: %w", args[0], err)
		}
	}
	for _, p := range debianPackages {
		if !installed(p.command) {
			return errors.New(p.pkg + " installed but " + p.command + " is still missing")
		}
	}
	return nil
}

// installed reports whether command is there: on PATH, or for PostgreSQL's
// programs in Debian's versioned directory.
func installed(command string) bool {
	if command == "initdb" {
		_, err := pgBin(command)
		return err == nil
	}
	_, err := exec.LookPath(command)
	return err == nil
}
