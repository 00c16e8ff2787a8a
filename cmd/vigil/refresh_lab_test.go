package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/vigilops/vigil/integrations/digitalocean"
	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ops/refresh"
)

const labCustomers = "id,name,email,plan\n1,Ann Lee,ann.lee@shop.example,pro\n2,\"Bo, Jr\",bo@shop.example,free\n3,Chen Yu,chen@shop.example,pro\n"

// TestLabRefreshDataKilledAndResumed refreshes preprod's data from prod on
// two of the emulator's droplets with real hosts: vigil is killed (SIGKILL)
// once step 2 is done, run again it resumes at step 3, and at the end the
// file on preprod's host is prod's with the e-mails scrubbed, prod's volume
// is untouched, preprod's old volume is kept with its data, and there is
// one snapshot and one new volume. The old volume is then deleted by name.
func TestLabRefreshDataKilledAndResumed(t *testing.T) {
	env := labtest.Env(t, "DIGITALOCEAN_API_URL", "DIGITALOCEAN_ACCESS_TOKEN", "VIGIL_LAB_SSH_KEY", "KUBECONFIG", "VIGIL_LAB_STATE")
	labtest.Tool(t, "ansible-playbook", "ansible")
	bin := vigilBinary(t)
	dir := sandbox(t)
	cloud, err := digitalocean.New(digitalocean.Options{APIURL: env["DIGITALOCEAN_API_URL"], Token: env["DIGITALOCEAN_ACCESS_TOKEN"], PollInterval: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	r := fmt.Sprintf("rf%d", time.Now().UnixNano()%1e8)
	prodHost, preHost := r+"-prod-db", r+"-preprod-db"
	prodVol, preVol := r+"-prod-data", r+"-preprod-data"
	hook := r + "-migrate"

	// The hook: a suspended CronJob in preprod's namespace.
	kc, err := clientcmd.BuildConfigFromFlags("", env["KUBECONFIG"])
	if err != nil {
		t.Fatal(err)
	}
	cs := k8s.NewForConfigOrDie(kc)
	suspend, backoff := true, int32(0)
	cj := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: hook}, Spec: batchv1.CronJobSpec{Schedule: "0 0 1 1 *", Suspend: &suspend,
		JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{BackoffLimit: &backoff, Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "migrate", Image: "registry.lab.local/shop/api-migrate:1.0.0"}},
		}}}}}}
	if _, err := cs.BatchV1().CronJobs("preprod").Create(ctx, cj, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		bg := metav1.DeletePropagationBackground
		cs.BatchV1().CronJobs("preprod").Delete(context.Background(), hook, metav1.DeleteOptions{})
		jobs, _ := cs.BatchV1().Jobs("preprod").List(context.Background(), metav1.ListOptions{})
		for _, j := range jobs.Items {
			if strings.HasPrefix(j.Name, hook) {
				cs.BatchV1().Jobs("preprod").Delete(context.Background(), j.Name, metav1.DeleteOptions{PropagationPolicy: &bg})
			}
		}
	})

	// Two data hosts, each with its data volume attached.
	t.Cleanup(func() { cleanupRefresh(t, cloud, r) })
	created, err := cloud.Create(ctx, inventory.CreateRequest{Names: []string{prodHost, preHost}, Region: "fra1", Size: "s-1vcpu-1gb", Image: "debian-12-x64", Tags: []string{r}})
	if err != nil {
		t.Fatal(err)
	}
	ips := map[string]string{}
	ids := map[string]int{}
	for _, h := range created {
		for h.PublicIPv4 == "" || h.Status != "active" {
			time.Sleep(300 * time.Millisecond)
			if h, err = cloud.Host(ctx, h.ID); err != nil {
				t.Fatal(err)
			}
		}
		if err := inventory.ProbeSSH(ctx, h.PublicIPv4); err != nil {
			t.Fatal(err)
		}
		ips[h.Name], ids[h.Name] = h.PublicIPv4, h.ID
	}
	ssh := func(host, command, stdin string) string {
		t.Helper()
		c := exec.Command("ssh", "-i", env["VIGIL_LAB_SSH_KEY"], "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
			"-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "root@"+ips[host], command)
		c.Stdin = strings.NewReader(stdin)
		out, err := c.Output()
		if err != nil {
			t.Fatalf("ssh %s %q: %v %s", host, command, err, out)
		}
		return string(out)
	}
	oldData := "id,name,email,plan\n1,Old Row,old@preprod.example,free\n"
	for _, v := range []struct{ host, name, data string }{{prodHost, prodVol, labCustomers}, {preHost, preVol, oldData}} {
		vol, err := cloud.CreateVolume(ctx, inventory.VolumeRequest{Name: v.name, Region: "fra1", SizeGB: 1})
		if err != nil {
			t.Fatal(err)
		}
		if err := cloud.AttachVolume(ctx, vol.ID, ids[v.host], nil); err != nil {
			t.Fatal(err)
		}
		ssh(v.host, "cat > "+refresh.MountPath(v.name)+"/customers.csv", v.data)
	}

	token := filepath.Join(dir, "token")
	writeFile(t, token, env["DIGITALOCEAN_ACCESS_TOKEN"])
	journalPath := filepath.Join(dir, "state", "journal.db")
	playbooks, _ := filepath.Abs("../../lab/playbooks")
	cfg := filepath.Join(dir, "vigil.yaml")
	writeFile(t, cfg, fmt.Sprintf(`identity: {name: alice, role: operator}
digitalocean:
  api_url: %q
  token: {file: %q}
ansible:
  playbook_dir: %q
  user: root
  private_key: %q
kubernetes:
  kubeconfig: %q
  environments:
    - {name: preprod, context: kwok-vigil-lab, namespace: preprod}
    - {name: prod, context: kwok-vigil-lab, namespace: prod}
data:
  playbook: scrub.yml
  environments:
    - {name: prod, host: %s, volume: %s}
    - {name: preprod, host: %s, volume: %s, hook: %s}
audit:
  path: %q
`, env["DIGITALOCEAN_API_URL"], token, playbooks, env["VIGIL_LAB_SSH_KEY"], env["KUBECONFIG"], prodHost, prodVol, preHost, preVol, hook, journalPath))

	// First run: killed once step 2 is done.
	first := exec.Command(bin, "--config", cfg, "refresh-data", "--env", "preprod", "--from", "prod", "--yes")
	first.Env = append(os.Environ(), "VIGIL_CONFIG=")
	stdout, _ := first.StdoutPipe()
	first.Stderr = first.Stdout
	start := time.Now()
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	var firstOut []string
	sc := bufio.NewScanner(stdout)
	killed := false
	for sc.Scan() {
		firstOut = append(firstOut, sc.Text())
		if strings.HasPrefix(sc.Text(), "step 2/6: done") {
			first.Process.Kill() // SIGKILL: no cleanup, no last save
			killed = true
			break
		}
	}
	first.Wait()
	if !killed {
		t.Fatalf("the first run ended before step 2 was done:\n%s", strings.Join(firstOut, "\n"))
	}
	t.Logf("first run, killed after %s:\n%s", time.Since(start).Round(time.Millisecond), strings.Join(firstOut, "\n"))

	// Second run: resumes at step 3.
	second := exec.Command(bin, "--config", cfg, "refresh-data", "--env", "preprod", "--from", "prod", "--yes")
	second.Env = append(os.Environ(), "VIGIL_CONFIG=")
	out, err := second.CombinedOutput()
	t.Logf("second run:\n%s", out)
	if err != nil {
		t.Fatalf("the resumed refresh failed: %v", err)
	}
	if !strings.Contains(string(out), "at step 3/6 (detach old volume)") || strings.Contains(string(out), "step 1/6") || strings.Contains(string(out), "step 2/6") {
		t.Fatalf("the second run did not resume at step 3")
	}

	// The data: prod's with the e-mails scrubbed, on preprod's host.
	want := "id,name,email,plan\n1,Ann Lee,user1@scrubbed.invalid,pro\n2,\"Bo, Jr\",user2@scrubbed.invalid,free\n3,Chen Yu,user3@scrubbed.invalid,pro\n"
	if got := ssh(preHost, "cat /srv/data/customers.csv", ""); got != want {
		t.Fatalf("preprod's data:\n%s\nwant:\n%s", got, want)
	}
	if got := ssh(prodHost, "cat "+refresh.MountPath(prodVol)+"/customers.csv", ""); got != labCustomers {
		t.Fatalf("prod's data changed:\n%s", got)
	}
	if got := ssh(preHost, "test -e "+refresh.MountPath(preVol)+" && echo still mounted || echo gone", ""); got != "gone\n" {
		t.Fatalf("preprod's old volume on its host: %s", got)
	}

	// No volume lost, none made twice.
	vols, err := cloud.Volumes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]inventory.Volume{}
	var copies []inventory.Volume
	for _, v := range vols {
		if strings.HasPrefix(v.Name, r) {
			byName[v.Name] = v
			if strings.HasPrefix(v.Name, preVol+"-") {
				copies = append(copies, v)
			}
		}
	}
	if v := byName[prodVol]; !slices.Equal(v.HostIDs, []int{ids[prodHost]}) {
		t.Fatalf("prod's volume: %+v", v)
	}
	old, ok := byName[preVol]
	if !ok || len(old.HostIDs) != 0 {
		t.Fatalf("preprod's old volume: %+v %v", old, ok)
	}
	if b, err := os.ReadFile(filepath.Join(env["VIGIL_LAB_STATE"], "emulator", "volumes", old.ID, "customers.csv")); err != nil || string(b) != oldData {
		t.Fatalf("preprod's old volume's data: %q %v", b, err)
	}
	if len(copies) != 1 || !slices.Equal(copies[0].HostIDs, []int{ids[preHost]}) {
		t.Fatalf("new volumes: %+v", copies)
	}
	snaps, err := cloud.VolumeSnapshots(ctx, byName[prodVol].ID)
	if err != nil || len(snaps) != 1 {
		t.Fatalf("prod's snapshots: %+v %v", snaps, err)
	}

	// The hook ran once, to completion.
	jobs, err := cs.BatchV1().Jobs("preprod").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, j := range jobs.Items {
		if strings.HasPrefix(j.Name, hook+"-") && j.Status.Succeeded == 1 {
			ran++
		}
	}
	if ran != 1 {
		t.Fatalf("hook jobs succeeded: %d", ran)
	}

	status, err := exec.Command(bin, "--config", cfg, "refresh-data", "--env", "preprod", "--status").CombinedOutput()
	t.Logf("status:\n%s", status)
	if err != nil || !strings.Contains(string(status), "preprod refreshed from prod") {
		t.Fatalf("status: %v", err)
	}

	// The journal: every step ok, the interrupted one's attempt included.
	j, err := audit.Open(journalPath)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := j.Query(audit.Query{})
	j.Close()
	if err != nil {
		t.Fatal(err)
	}
	steps := map[string]bool{}
	for _, e := range entries {
		if strings.HasPrefix(e.Action, "refresh data: ") && e.Result == "ok" {
			steps[e.Action] = true
		}
	}
	if len(steps) != refresh.NumSteps {
		t.Fatalf("journaled steps: %v", steps)
	}

	// The old volume goes only by its name, typed.
	if out, err := exec.Command(bin, "--config", cfg, "refresh-data", "--env", "preprod", "--delete-old", prodVol, "--yes").CombinedOutput(); err == nil {
		t.Fatalf("deleting prod's volume as preprod's old one: %s", out)
	}
	if out, err := exec.Command(bin, "--config", cfg, "refresh-data", "--env", "preprod", "--delete-old", preVol, "--yes").CombinedOutput(); err != nil {
		t.Fatalf("deleting the old volume: %v %s", err, out)
	}
	if vols, _ := cloud.Volumes(ctx); slices.ContainsFunc(vols, func(v inventory.Volume) bool { return v.Name == preVol }) {
		t.Fatal("the old volume is still there")
	}
}

// cleanupRefresh removes what the test made: its droplets, then its volumes
// and their snapshots.
func cleanupRefresh(t *testing.T, cloud *digitalocean.Client, prefix string) {
	ctx := context.Background()
	hs, _ := cloud.Hosts(ctx, prefix)
	for _, h := range hs {
		if err := cloud.Destroy(ctx, h.ID); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}
	vols, _ := cloud.Volumes(ctx)
	for _, v := range vols {
		if !strings.HasPrefix(v.Name, prefix) {
			continue
		}
		snaps, _ := cloud.VolumeSnapshots(ctx, v.ID)
		for _, s := range snaps {
			cloud.DeleteVolumeSnapshot(ctx, s.ID)
		}
		if err := cloud.DestroyVolume(ctx, v.ID); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}
}
