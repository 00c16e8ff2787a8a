package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// tmuxServer is one private tmux server (its own socket) with one pane
// that idles until a program is respawned into it.
type tmuxServer struct {
	socket string
	env    []string
	target string
}

func startTmux(env []string, width, height int) (*tmuxServer, error) {
	tm := &tmuxServer{
		socket: fmt.Sprintf("vigil-scale-%d-%d", os.Getpid(), time.Now().UnixNano()%1e6),
		env:    env,
		target: "scale:0.0",
	}
	if _, err := tm.run("-f", "/dev/null", "new-session", "-d", "-s", "scale", "-x", fmt.Sprint(width), "-y", fmt.Sprint(height), "sleep", "3600"); err != nil {
		return nil, err
	}
	for _, o := range [][]string{{"remain-on-exit", "on"}, {"default-terminal", "xterm-256color"}, {"status", "off"}, {"window-size", "manual"}} {
		if _, err := tm.run("set-option", "-g", o[0], o[1]); err != nil {
			tm.close()
			return nil, err
		}
	}
	// The status line is off: the pane keeps the whole window; its size is
	// manual, so the control client's attach does not change it.
	if _, err := tm.run("resize-window", "-t", "scale:0", "-x", fmt.Sprint(width), "-y", fmt.Sprint(height)); err != nil {
		tm.close()
		return nil, err
	}
	return tm, nil
}

func (tm *tmuxServer) run(args ...string) (string, error) {
	cmd := exec.Command("tmux", append([]string{"-u", "-L", tm.socket}, args...)...)
	cmd.Env = tm.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("tmux %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// close kills the server and whatever runs in it.
func (tm *tmuxServer) close() {
	sock, _ := tm.run("display-message", "-p", "#{socket_path}")
	_, _ = tm.run("kill-server")
	if s := strings.TrimSpace(sock); s != "" {
		os.Remove(s)
	}
}

// respawn starts argv in the pane (tmux execs it itself: the pane's PID
// is the program's) and returns the moment before tmux was asked and the
// program's PID.
func (tm *tmuxServer) respawn(env []string, argv ...string) (time.Time, int, error) {
	args := []string{"respawn-pane", "-k", "-t", tm.target}
	for _, kv := range env {
		args = append(args, "-e", kv)
	}
	start := time.Now()
	if _, err := tm.run(append(args, argv...)...); err != nil {
		return start, 0, err
	}
	out, err := tm.run("display-message", "-p", "-t", tm.target, "#{pane_pid}")
	if err != nil {
		return start, 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(out))
	return start, pid, err
}

func (tm *tmuxServer) capture() (string, error) {
	return tm.run("capture-pane", "-p", "-t", tm.target)
}

func (tm *tmuxServer) keys(keys ...string) error {
	_, err := tm.run(append([]string{"send-keys", "-t", tm.target}, keys...)...)
	return err
}

func (tm *tmuxServer) typeText(s string) error {
	_, err := tm.run("send-keys", "-t", tm.target, "-l", s)
	return err
}

// waitFor polls the screen as fast as tmux answers until ok accepts it;
// it returns the screen, or an error with the last one after timeout.
func (tm *tmuxServer) waitFor(what string, timeout time.Duration, ok func(string) bool) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		s, err := tm.capture()
		if err != nil {
			return "", err
		}
		if ok(s) {
			return s, nil
		}
		if time.Now().After(deadline) {
			return s, fmt.Errorf("waiting for %s: not on screen after %v; last screen:\n%s", what, timeout, s)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// control is a tmux control-mode client (tmux -C): it is told of every
// byte a pane writes (%output), as it is written, so the time from a key
// to the program's first output after it is measured without polling.
type control struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	output chan time.Time // one per %output line of the pane
	mu     sync.Mutex
	err    error
}

func (tm *tmuxServer) control() (*control, error) {
	cmd := exec.Command("tmux", "-u", "-L", tm.socket, "-C", "attach-session", "-t", "scale")
	cmd.Env = tm.env
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &control{cmd: cmd, stdin: stdin, output: make(chan time.Time, 4096)}
	go func() {
		r := bufio.NewReaderSize(stdout, 1<<20)
		for {
			line, err := r.ReadSlice('\n')
			if errors.Is(err, bufio.ErrBufferFull) {
				for errors.Is(err, bufio.ErrBufferFull) {
					_, err = r.ReadSlice('\n')
				}
			}
			if err != nil {
				c.mu.Lock()
				c.err = err
				c.mu.Unlock()
				close(c.output)
				return
			}
			if bytes.HasPrefix(line, []byte("%output ")) {
				select {
				case c.output <- time.Now():
				default:
				}
			}
		}
	}()
	return c, nil
}

// drain forgets the output seen so far.
func (c *control) drain() {
	for {
		select {
		case <-c.output:
		default:
			return
		}
	}
}

// quiet waits until the pane has written nothing for d (at most max).
func (c *control) quiet(d, max time.Duration) {
	end := time.Now().Add(max)
	for time.Now().Before(end) {
		select {
		case <-c.output:
		case <-time.After(d):
			return
		}
	}
}

// key sends one key through the control client and returns the time to
// the pane's first output after it.
func (c *control) key(target, key string, timeout time.Duration) (time.Duration, error) {
	c.drain()
	start := time.Now()
	if _, err := fmt.Fprintf(c.stdin, "send-keys -t %s %s\n", target, key); err != nil {
		return 0, err
	}
	select {
	case t, ok := <-c.output:
		if !ok {
			return 0, fmt.Errorf("control client ended: %v", c.err)
		}
		return t.Sub(start), nil
	case <-time.After(timeout):
		return 0, fmt.Errorf("no output %v after %s", timeout, key)
	}
}

func (c *control) close() {
	_, _ = io.WriteString(c.stdin, "detach-client\n")
	c.stdin.Close()
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}
