// Package daemon starts the lab's long-running processes detached (own
// session, pid file, log file) and stops them by process group. A process
// counts as the lab's only while its command line names the state dir, so a
// reused pid is never mistaken for a lab daemon.
package daemon

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Set is the daemons kept in one state dir: pid files in STATE/run, logs in
// STATE/logs.
type Set struct{ Dir string }

func (s Set) pidFile(name string) string { return filepath.Join(s.Dir, "run", name+".pid") }

// LogFile is where the daemon's stdout and stderr go.
func (s Set) LogFile(name string) string { return filepath.Join(s.Dir, "logs", name+".log") }

// Start runs argv detached in its own session, with env added to this
// process's environment. It fails if the daemon already runs.
func (s Set) Start(name string, argv []string, env ...string) (int, error) {
	if pid, ok := s.Pid(name); ok {
		return pid, fmt.Errorf("%s already runs (pid %d)", name, pid)
	}
	for _, d := range []string{"run", "logs"} {
		if err := os.MkdirAll(filepath.Join(s.Dir, d), 0o755); err != nil {
			return 0, err
		}
	}
	log, err := os.OpenFile(s.LogFile(name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	defer log.Close()
	fmt.Fprintf(log, "\n=== %s %s\n", time.Now().Format(time.RFC3339), strings.Join(argv, " "))
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = s.Dir
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("starting %s: %w", name, err)
	}
	pid := cmd.Process.Pid
	if err := os.WriteFile(s.pidFile(name), []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		_ = cmd.Process.Kill()
		return 0, err
	}
	// Reap it if it dies while this process still runs; afterwards init does.
	go func() { _ = cmd.Wait() }()
	return pid, nil
}

// Pid returns the daemon's pid and whether it runs.
func (s Set) Pid(name string) (int, bool) {
	b, err := os.ReadFile(s.pidFile(name))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, s.owns(pid)
}

// Argv returns the running daemon's command line, and whether it runs.
func (s Set) Argv(name string) ([]string, bool) {
	pid, ok := s.Pid(name)
	if !ok {
		return nil, false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return nil, false
	}
	return strings.Split(strings.TrimRight(string(b), "\x00"), "\x00"), true
}

// Alive reports whether pid is a live (not zombie) process of this state dir.
func (s Set) Alive(pid int) bool { return s.owns(pid) }

func (s Set) owns(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses.
	if i := strings.LastIndexByte(string(stat), ')'); i < 0 || strings.HasPrefix(string(stat[i+1:]), " Z") {
		return false
	}
	return strings.Contains(cmdline(pid), s.Dir)
}

// Stop sends SIGTERM to the daemon's process group, waits up to grace for it
// to exit, then kills the group. Stopping a daemon that does not run is not
// an error.
func (s Set) Stop(name string, grace time.Duration) error {
	return s.StopWith(name, syscall.SIGTERM, grace)
}

// StopWith is Stop with another first signal, for a daemon whose SIGTERM
// waits for its clients (PostgreSQL's fast shutdown is SIGINT).
func (s Set) StopWith(name string, sig syscall.Signal, grace time.Duration) error {
	pid, ok := s.Pid(name)
	defer os.Remove(s.pidFile(name))
	if !ok {
		return nil
	}
	_ = syscall.Kill(-pid, sig)
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if !s.owns(pid) {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	for range 50 {
		if !s.owns(pid) {
			return fmt.Errorf("%s (pid %d) ignored %s for %s and was killed", name, pid, sig, grace)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s (pid %d) survived SIGKILL", name, pid)
}

// Processes lists every live process whose command line names the state
// dir: the daemons, the cluster's components and whatever they started.
func (s Set) Processes() []Process {
	entries, _ := os.ReadDir("/proc")
	var out []Process
	self := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self || !s.owns(pid) {
			continue
		}
		out = append(out, Process{Pid: pid, Cmdline: cmdline(pid), RSS: rss(pid)})
	}
	return out
}

// Process is one running process.
type Process struct {
	Pid     int
	Cmdline string
	RSS     int64 // resident memory in bytes
}

func cmdline(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}

// RSS is the resident memory of pid in bytes, 0 when unknown.
func RSS(pid int) int64 { return rss(pid) }

func rss(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}
