package smoke

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/digitalocean/godo"
)

type bearerTransport string

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+string(b))
	return http.DefaultTransport.RoundTrip(r)
}

func doClient(t *testing.T, env map[string]string) *godo.Client {
	t.Helper()
	base := strings.TrimSuffix(env["DIGITALOCEAN_API_URL"], "/") + "/"
	c, err := godo.New(&http.Client{Transport: bearerTransport(env["DIGITALOCEAN_ACCESS_TOKEN"]), Timeout: 30 * time.Second},
		godo.SetBaseURL(base))
	if err != nil {
		t.Fatalf("godo client for %s: %v", base, err)
	}
	return c
}

// eventually polls check every interval until it returns nil or timeout
// passes, then fails with check's last error.
func eventually(t *testing.T, what string, timeout time.Duration, check func() error) {
	t.Helper()
	start := time.Now()
	var err error
	for time.Since(start) < timeout {
		if err = check(); err == nil {
			t.Logf("%s after %s", what, time.Since(start).Round(100*time.Millisecond))
			return
		}
		time.Sleep(time.Second)
	}
	t.Fatalf("%s: not within %s: %v", what, timeout, err)
}

func waitAction(t *testing.T, c *godo.Client, id int, what string) {
	t.Helper()
	eventually(t, what, 60*time.Second, func() error {
		a, _, err := c.Actions.Get(context.Background(), id)
		switch {
		case err != nil:
			return err
		case a.Status == "errored":
			t.Fatalf("%s: action %d errored", what, id)
		case a.Status != godo.ActionCompleted:
			return fmt.Errorf("action %d is %s", id, a.Status)
		}
		return nil
	})
}

func sshArgs(key, ip string, command ...string) []string {
	return append([]string{"-i", key, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=5", "root@" + ip}, command...)
}

type recap struct {
	Ok, Changed, Failures, Unreachable, Skipped, Rescued, Ignored int
}

// playbookRecap runs a lab playbook with the jsonl callback and returns the
// per-host recap from its v2_playbook_on_stats event.
func playbookRecap(t *testing.T, inventory, playbook string) map[string]recap {
	t.Helper()
	cmd := exec.Command("ansible-playbook", "-i", inventory, playbook)
	cmd.Env = append(os.Environ(), "ANSIBLE_STDOUT_CALLBACK=ansible.posix.jsonl", "ANSIBLE_HOST_KEY_CHECKING=False",
		"ANSIBLE_RETRY_FILES_ENABLED=False")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, runErr := cmd.Output()
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev struct {
			Event string           `json:"_event"`
			Stats map[string]recap `json:"stats"`
		}
		if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Event == "v2_playbook_on_stats" {
			return ev.Stats
		}
	}
	t.Fatalf("ansible-playbook %s gave no recap (%v)\nstdout:\n%s\nstderr:\n%s", playbook, runErr, out, stderr.String())
	return nil
}

// promUp returns the value of up for the droplet's target, or an error when
// Prometheus has no such series yet.
func promUp(base, droplet string) (string, error) {
	q := url.Values{"query": {fmt.Sprintf(`up{droplet=%q}`, droplet)}}
	res, err := http.Get(strings.TrimSuffix(base, "/") + "/api/v1/query?" + q.Encode())
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var body struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		return "", err
	}
	if body.Status != "success" || len(body.Data.Result) != 1 {
		return "", fmt.Errorf("query %s: status %s, %d series", q.Get("query"), body.Status, len(body.Data.Result))
	}
	v, _ := body.Data.Result[0].Value[1].(string)
	return v, nil
}

// hostDownFiring tells whether Alertmanager holds an active HostDown alert
// for the droplet.
func hostDownFiring(base, droplet string) error {
	q := url.Values{"filter": {`alertname="HostDown"`, fmt.Sprintf("droplet=%q", droplet)}, "active": {"true"}}
	res, err := http.Get(strings.TrimSuffix(base, "/") + "/api/v2/alerts?" + q.Encode())
	if err != nil {
		return err
	}
	defer res.Body.Close()
	var alerts []struct {
		Labels map[string]string `json:"labels"`
		Status struct {
			State string `json:"state"`
		} `json:"status"`
	}
	if err := json.NewDecoder(res.Body).Decode(&alerts); err != nil {
		return err
	}
	for _, a := range alerts {
		if a.Labels["droplet"] == droplet && a.Labels["instance"] != "" && a.Status.State == "active" {
			return nil
		}
	}
	return fmt.Errorf("no active HostDown alert for %s among %d", droplet, len(alerts))
}

// TestDropletLifecycle creates a droplet through godo, reaches it over SSH,
// configures it with the base playbook, powers it off until HostDown fires,
// and destroys it.
func TestDropletLifecycle(t *testing.T) {
	env := labEnv(t)
	for _, tool := range []string{"ssh", "ansible-playbook"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed: apt-get install openssh-client ansible", tool)
		}
	}
	c := doClient(t, env)
	ctx := context.Background()
	name := fmt.Sprintf("smoke-%d", time.Now().Unix())
	d, resp, err := c.Droplets.Create(ctx, &godo.DropletCreateRequest{
		Name: name, Region: "fra1", Size: "s-1vcpu-1gb", Image: godo.DropletCreateImage{Slug: "debian-12-x64"},
		Tags: []string{"smoke"},
	})
	if err != nil {
		t.Fatalf("create droplet: %v", err)
	}
	t.Cleanup(func() {
		if _, err := c.Droplets.Delete(context.Background(), d.ID); err != nil {
			t.Errorf("destroy droplet %d: %v", d.ID, err)
		}
	})
	waitAction(t, c, resp.Links.Actions[0].ID, "droplet active")
	d, _, err = c.Droplets.Get(ctx, d.ID)
	if err != nil || d.Status != "active" {
		t.Fatalf("droplet after create: %+v %v", d, err)
	}
	ip, err := d.PublicIPv4()
	if err != nil || ip == "" {
		t.Fatalf("droplet has no public IPv4: %v", err)
	}

	key := env["VIGIL_LAB_SSH_KEY"]
	eventually(t, "SSH reachable", 30*time.Second, func() error {
		out, err := exec.Command("ssh", sshArgs(key, ip, "hostname")...).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != name {
			return fmt.Errorf("ssh root@%s hostname: %q %v", ip, out, err)
		}
		return nil
	})

	inventory := filepath.Join(t.TempDir(), "inventory.ini")
	inv := fmt.Sprintf("%s ansible_host=%s ansible_user=root ansible_ssh_private_key_file=%s ansible_python_interpreter=/usr/bin/python3\n", name, ip, key)
	if err := os.WriteFile(inventory, []byte(inv), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := playbookRecap(t, inventory, "../playbooks/base.yml")[name]
	t.Logf("base.yml: %+v in %s", r, time.Since(start).Round(time.Millisecond))
	if r.Ok == 0 || r.Failures != 0 || r.Unreachable != 0 {
		t.Fatalf("base.yml recap for %s: %+v", name, r)
	}

	prom, am := env["VIGIL_LAB_PROMETHEUS_URL"], env["VIGIL_LAB_ALERTMANAGER_URL"]
	eventually(t, "Prometheus scrapes the droplet", 90*time.Second, func() error {
		if v, err := promUp(prom, name); err != nil || v != "1" {
			return fmt.Errorf("up = %q %v", v, err)
		}
		return nil
	})
	off, _, err := c.DropletActions.PowerOff(ctx, d.ID)
	if err != nil {
		t.Fatalf("power off: %v", err)
	}
	waitAction(t, c, off.ID, "droplet off")
	eventually(t, "Prometheus sees up == 0", 60*time.Second, func() error {
		if v, err := promUp(prom, name); err != nil || v != "0" {
			return fmt.Errorf("up = %q %v", v, err)
		}
		return nil
	})
	eventually(t, "HostDown in Alertmanager", 120*time.Second, func() error { return hostDownFiring(am, name) })
}
