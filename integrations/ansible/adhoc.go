package ansible

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vigilops/vigil/ops/playbook"
)

var _ playbook.AdHocRunner = (*Runner)(nil)

// maxAdHocOutput bounds the JSON document an ad-hoc command prints (every
// host's outputs): past it, the command's outcome is not read.
const maxAdHocOutput = 64 << 20

// RunAdHoc implements playbook.AdHocRunner: `ansible HOSTS -m shell -a
// CMD` with the ansible.posix.json stdout callback (one JSON document at
// the end), the same inventory, strict host key checking and process
// handling as a playbook run.
func (r *Runner) RunAdHoc(ctx context.Context, spec playbook.AdHocSpec) ([]playbook.HostOutput, error) {
	if len(spec.Limit) == 0 {
		return nil, errors.New("an ad-hoc command needs its hosts")
	}
	dir, err := os.MkdirTemp("", "vigil-exec-")
	if err != nil {
		return nil, fmt.Errorf("prepare the command: %w", err)
	}
	defer os.RemoveAll(dir)
	inv := filepath.Join(dir, "inventory.json")
	if err := os.WriteFile(inv, spec.Inventory, 0o600); err != nil {
		return nil, fmt.Errorf("write the command's inventory: %w", err)
	}
	bin := r.AdHoc
	if bin == "" {
		bin = "ansible"
	}
	// The command is one argument: no local shell ever sees it.
	cmd := exec.Command(bin, "-i", inv, "all", "--limit", strings.Join(spec.Limit, ","), "-m", "ansible.builtin.shell", "-a", spec.Command)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	env := append(r.env(), "ANSIBLE_LOAD_CALLBACK_PLUGINS=1", "ANSIBLE_STDOUT_CALLBACK=ansible.posix.json")
	if spec.Timeout > 0 {
		env = append(env, "ANSIBLE_TASK_TIMEOUT="+strconv.Itoa(int(max(spec.Timeout/time.Second, 1))))
	}
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr tail
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w: install Ansible (apt-get install ansible)", bin, err)
	}
	pgid := cmd.Process.Pid
	stopped := make(chan struct{})
	go r.interruptOnCancel(ctx, pgid, stopped)
	out, readErr := io.ReadAll(io.LimitReader(stdout, maxAdHocOutput+1))
	if len(out) > maxAdHocOutput {
		readErr = fmt.Errorf("the command printed more than %d MiB in all: its outcome was not read", maxAdHocOutput>>20)
		_, _ = io.Copy(io.Discard, stdout)
	}
	err = cmd.Wait()
	close(stopped)
	syscall.Kill(-pgid, syscall.SIGKILL)
	if ctx.Err() != nil {
		return nil, fmt.Errorf("ansible interrupted: %w", ctx.Err())
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return nil, fmt.Errorf("ansible: %w", err)
	}
	if err != nil && exit.ExitCode() != 2 && exit.ExitCode() != 4 { // 2, 4: some host failed / unreachable
		return nil, fmt.Errorf("ansible failed (exit %d): %s", exit.ExitCode(), stderr.String())
	}
	if readErr != nil {
		return nil, readErr
	}
	return ParseAdHoc(out)
}

// adHocDoc is the part of the ansible.posix.json callback's document an
// ad-hoc command's outcome is read from.
type adHocDoc struct {
	Plays []struct {
		Tasks []struct {
			Hosts map[string]struct {
				RC          *int   `json:"rc"`
				Stdout      string `json:"stdout"`
				Stderr      string `json:"stderr"`
				Msg         any    `json:"msg"`
				Failed      bool   `json:"failed"`
				Unreachable bool   `json:"unreachable"`
				Skipped     bool   `json:"skipped"`
				Delta       string `json:"delta"`
			} `json:"hosts"`
		} `json:"tasks"`
	} `json:"plays"`
}

// ParseAdHoc reads each host's outcome from the JSON callback's document.
func ParseAdHoc(doc []byte) ([]playbook.HostOutput, error) {
	var d adHocDoc
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("read ansible's JSON outcome: %w", err)
	}
	var out []playbook.HostOutput
	for _, p := range d.Plays {
		for _, t := range p.Tasks {
			for host, h := range t.Hosts {
				o := playbook.HostOutput{Host: host, RC: -1, Status: playbook.StatusChanged}
				if h.RC != nil {
					o.RC = *h.RC
				}
				switch {
				case h.Unreachable:
					o.Status = playbook.StatusUnreachable
				case h.Failed:
					o.Status = playbook.StatusFailed
				case h.Skipped:
					o.Status = playbook.StatusSkipped
				}
				var cut1, cut2 bool
				o.Stdout, cut1 = keepTail(h.Stdout)
				o.Stderr, cut2 = keepTail(h.Stderr)
				o.Truncated = cut1 || cut2
				if h.Msg != nil && o.Status != playbook.StatusChanged {
					if s, ok := h.Msg.(string); ok {
						o.Msg = s
					} else if b, err := json.Marshal(h.Msg); err == nil {
						o.Msg = string(b)
					}
				}
				o.Duration = parseDelta(h.Delta)
				out = append(out, o)
			}
		}
	}
	return out, nil
}

// keepTail keeps the last playbook.MaxOutput bytes of s, whole runes.
func keepTail(s string) (string, bool) {
	if len(s) <= playbook.MaxOutput {
		return s, false
	}
	return strings.ToValidUTF8(s[len(s)-playbook.MaxOutput:], ""), true
}

// parseDelta reads the shell module's "0:00:01.234567".
func parseDelta(s string) time.Duration {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return 0
	}
	h, err1 := strconv.Atoi(parts[0])
	m, err2 := strconv.Atoi(parts[1])
	sec, err3 := strconv.ParseFloat(parts[2], 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return 0
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec*float64(time.Second))
}
