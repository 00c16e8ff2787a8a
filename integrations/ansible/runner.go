// Package ansible runs ansible-playbook for the playbook service: events come
// from the ansible.posix.jsonl stdout callback, one JSON object per line,
// never from screen text.
package ansible

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/vigilops/vigil/ops/playbook"
)

var _ playbook.Runner = (*Runner)(nil)

// Runner runs ansible-playbook as a child process in its own process group.
type Runner struct {
	// Binary is the ansible-playbook command; default "ansible-playbook".
	Binary string
	// AdHoc is the ansible command (ad-hoc commands); default "ansible".
	AdHoc string
	// Grace is how long an interrupted run may take to clean up before it
	// is killed; default 10s.
	Grace time.Duration
	// KnownHosts is vigil's known_hosts file (integrations/hostkeys),
	// checked strictly: a key not in it refuses the host. Empty leaves
	// ssh's own checking, against ~/.ssh/known_hosts. Never off.
	KnownHosts string
	// Env is added to the child's environment.
	Env []string
}

// maxLine bounds one event line; a longer one (a huge command output) is
// skipped whole rather than held in memory.
const maxLine = 16 << 20

// Run runs spec to its end; see playbook.Runner.
func (r *Runner) Run(ctx context.Context, spec playbook.Spec, emit func(playbook.Event)) error {
	defer wipe(spec.VaultPassword)
	defer wipe(spec.BecomePassword)
	dir, err := os.MkdirTemp("", "vigil-run-")
	if err != nil {
		return fmt.Errorf("prepare the run: %w", err)
	}
	defer os.RemoveAll(dir)
	inv := filepath.Join(dir, "inventory.json")
	if err := os.WriteFile(inv, spec.Inventory, 0o600); err != nil {
		return fmt.Errorf("write the run's inventory: %w", err)
	}
	args := []string{"-i", inv}
	if len(spec.Limit) > 0 {
		args = append(args, "--limit", strings.Join(spec.Limit, ","))
	}
	if spec.Check {
		args = append(args, "--check", "--diff")
	}
	if len(spec.ExtraVars) > 0 {
		b, err := json.Marshal(spec.ExtraVars)
		if err != nil {
			return err
		}
		vars := filepath.Join(dir, "extra-vars.json")
		if err := os.WriteFile(vars, b, 0o600); err != nil {
			return fmt.Errorf("write the run's extra vars: %w", err)
		}
		args = append(args, "--extra-vars", "@"+vars)
	}
	bin := r.Binary
	if bin == "" {
		bin = "ansible-playbook"
	}
	cmd := exec.Command(bin, append(args, spec.Playbook)...)
	cmd.Dir = filepath.Dir(spec.Playbook)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Env = append(os.Environ(), r.env()...)
	// Passwords go through pipes the child inherits as fd 3, 4, …: never a
	// file, an argument or an environment variable. Ansible resolves a
	// /dev/fd path to an unreadable pipe:[…] name, and runs password scripts
	// with every other fd closed, so each flag names a script that reads the
	// pipe through its parent, ansible-playbook: /proc/$PPID/fd/N.
	var feeds []func()
	for _, pw := range []struct {
		flag   string
		secret []byte
	}{{"--vault-password-file", spec.VaultPassword}, {"--become-password-file", spec.BecomePassword}} {
		if len(pw.secret) == 0 {
			continue
		}
		rd, wr, err := os.Pipe()
		if err != nil {
			return fmt.Errorf("pipe for a password: %w", err)
		}
		defer rd.Close()
		defer wr.Close()
		fd := 3 + len(cmd.ExtraFiles)
		cmd.ExtraFiles = append(cmd.ExtraFiles, rd)
		script := filepath.Join(dir, fmt.Sprintf("password-%d", fd))
		if err := os.WriteFile(script, fmt.Appendf(nil, "#!/bin/sh\nexec cat /proc/$PPID/fd/%d\n", fd), 0o700); err != nil {
			return fmt.Errorf("write the password reader: %w", err)
		}
		cmd.Args = slices.Insert(cmd.Args, 1, pw.flag, script)
		secret := pw.secret
		feeds = append(feeds, func() {
			wr.Write(secret)
			wr.Write([]byte{'\n'})
			wr.Close()
		})
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr tail
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w: install Ansible (apt-get install ansible)", bin, err)
	}
	for _, f := range feeds {
		go f()
	}
	pgid := cmd.Process.Pid
	stopped := make(chan struct{})
	go r.interruptOnCancel(ctx, pgid, stopped)

	readErr := readEvents(stdout, emit)
	err = cmd.Wait()
	close(stopped)
	// Whatever is left of the group (a stray ssh) goes with the run.
	syscall.Kill(-pgid, syscall.SIGKILL)
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("ansible-playbook interrupted: %w", ctx.Err())
	case err == nil:
		return readErr
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		switch exit.ExitCode() {
		case 2, 4: // some host failed / unreachable
			return fmt.Errorf("%w (exit %d)", playbook.ErrHostsFailed, exit.ExitCode())
		}
		return fmt.Errorf("ansible-playbook failed (exit %d): %s", exit.ExitCode(), stderr.String())
	}
	return fmt.Errorf("ansible-playbook: %w", err)
}

func (r *Runner) env() []string {
	env := []string{
		"ANSIBLE_STDOUT_CALLBACK=ansible.posix.jsonl",
		"ANSIBLE_NOCOLOR=1",
		"ANSIBLE_FORCE_COLOR=0",
		"ANSIBLE_RETRY_FILES_ENABLED=0",
		"ANSIBLE_PIPELINING=1",
		// No lingering ssh control masters: they would outlive the run.
		"ANSIBLE_SSH_ARGS=-o ControlMaster=no",
		// A host busy enough to take more than ansible's default 10 s
		// to answer SSH is slow, not unreachable.
		"ANSIBLE_TIMEOUT=30",
	}
	env = append(env, "ANSIBLE_HOST_KEY_CHECKING=1")
	if r.KnownHosts != "" {
		env = append(env, "ANSIBLE_SSH_COMMON_ARGS=-o StrictHostKeyChecking=yes -o UserKnownHostsFile="+r.KnownHosts)
	}
	return append(env, r.Env...)
}

// interruptOnCancel sends SIGINT to the process group when ctx ends, as a
// Ctrl-C would, then SIGKILL after the grace period.
func (r *Runner) interruptOnCancel(ctx context.Context, pgid int, stopped <-chan struct{}) {
	select {
	case <-stopped:
		return
	case <-ctx.Done():
	}
	syscall.Kill(-pgid, syscall.SIGINT)
	grace := r.Grace
	if grace <= 0 {
		grace = 10 * time.Second
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-stopped:
	case <-t.C:
		syscall.Kill(-pgid, syscall.SIGKILL)
	}
}

// readEvents parses each stdout line and emits its events. Lines that are
// not events (warnings) are skipped, as are lines over maxLine.
func readEvents(rd io.Reader, emit func(playbook.Event)) error {
	br := bufio.NewReaderSize(rd, 64<<10)
	var line []byte
	skipping := false
	for {
		chunk, err := br.ReadSlice('\n')
		if !skipping {
			line = append(line, chunk...)
			if len(line) > maxLine {
				line, skipping = line[:0], true
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if !skipping && len(line) > 0 {
			if evs, perr := playbook.ParseLine(line); perr == nil {
				for _, e := range evs {
					emit(e)
				}
			}
		}
		line, skipping = line[:0], false
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read ansible-playbook output: %w", err)
		}
	}
}

// tail keeps the last 4 KiB written, for error messages.
type tail struct{ buf []byte }

func (t *tail) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > 4096 {
		t.buf = t.buf[len(t.buf)-4096:]
	}
	return len(p), nil
}

func (t *tail) String() string { return strings.TrimSpace(string(t.buf)) }

func wipe(b []byte) { clear(b) }
