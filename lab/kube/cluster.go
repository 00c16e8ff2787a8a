package kube

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"github.com/vigilops/vigil/lab/internal/labstate"
)

//go:embed stages.yaml
var stages []byte

// Cluster is the lab's kwok cluster, run by kwokctl with the binary runtime.
type Cluster struct {
	Bin        string // directory holding the binaries
	Workdir    string // KWOK_WORKDIR: kwokctl keeps the cluster's files here
	Kubeconfig string // kwokctl adds the cluster's context to this file
	Ports      labstate.Ports
	LogFile    string // kwokctl's output is appended here
}

// Dir holds the cluster's data, pid files and logs.
func (c Cluster) Dir() string { return filepath.Join(c.Workdir, "clusters", labstate.ClusterName) }

// Context is the cluster's context in the kubeconfig.
func (c Cluster) Context() string { return "kwok-" + labstate.ClusterName }

// Exists reports whether kwokctl has created the cluster (running or not).
func (c Cluster) Exists() bool {
	_, err := os.Stat(filepath.Join(c.Dir(), "kwok.yaml"))
	return err == nil
}

// Create creates and starts the cluster, every component on 127.0.0.1 on
// the ports kept in the state dir, with the lab's kwok stages.
func (c Cluster) Create(ctx context.Context) error {
	stagesFile := filepath.Join(c.Workdir, "stages.yaml")
	if err := os.MkdirAll(c.Workdir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(stagesFile, stages, 0o644); err != nil {
		return err
	}
	p := c.Ports
	bin := func(name string) string { return filepath.Join(c.Bin, name) }
	loop := func(port int) string { return "http://127.0.0.1:" + strconv.Itoa(port) }
	args := []string{
		"create", "cluster", "--config", stagesFile, "--runtime", "binary", "--wait", "2m",
		// The load mode's thousands of pods need the controllers unthrottled.
		"--disable-qps-limits",
		// Pods' logs come from files the lab writes, named per pod by a
		// kwok Logs object (see package podlogs): the CRD lets the lab
		// create one as each pod appears.
		"--enable-crds", "Logs",
		"--kubeconfig", c.Kubeconfig,
		"--etcd-binary", bin("etcd"),
		"--kube-apiserver-binary", bin("kube-apiserver"),
		"--kube-controller-manager-binary", bin("kube-controller-manager"),
		"--kube-scheduler-binary", bin("kube-scheduler"),
		"--kwok-controller-binary", bin("kwok"),
		"--kube-apiserver-port", strconv.Itoa(p.APIServer),
		"--etcd-port", strconv.Itoa(p.Etcd),
		"--controller-port", strconv.Itoa(p.KwokController),
		"--kube-controller-manager-port", strconv.Itoa(p.ControllerManager),
		"--kube-scheduler-port", strconv.Itoa(p.Scheduler),
	}
	// kubectl logs reaches kwok-controller as each node's kubelet: kwokctl
	// starts it with --node-name=localhost and --node-port set to its own
	// server's port (the controller port), and the node stages publish
	// them as the node's Hostname address and kubelet endpoint, which the
	// API server tries first. The server must listen on 127.0.0.1 (below).
	//
	// kwokctl binds every component to 0.0.0.0; these later flags win.
	// kwokctl v0.8.0 groups extra args correctly only when the k-th
	// component named first appears as the k-th flag: one flag of each
	// component first, the rest after.
	for _, kv := range []string{
		"etcd=listen-client-urls=" + loop(p.Etcd),
		"kube-apiserver=bind-address=127.0.0.1",
		"kube-controller-manager=bind-address=127.0.0.1",
		"kube-scheduler=bind-address=127.0.0.1",
		"kwok-controller=server-address=127.0.0.1:" + strconv.Itoa(p.KwokController),
		"etcd=advertise-client-urls=" + loop(p.Etcd),
		"etcd=listen-peer-urls=" + loop(p.EtcdPeer),
		"etcd=initial-advertise-peer-urls=" + loop(p.EtcdPeer),
		"etcd=initial-cluster=node0=" + loop(p.EtcdPeer),
		// A lone instance needs no election, and a lease renewal missed
		// on a busy machine would make it exit.
		"kube-controller-manager=leader-elect=false",
		"kube-scheduler=leader-elect=false",
	} {
		args = append(args, "--extra-args", kv)
	}
	return c.kwokctl(ctx, args...)
}

// ScaleNodes makes the cluster have n kwok nodes (110 pods each).
func (c Cluster) ScaleNodes(ctx context.Context, n int) error {
	return c.kwokctl(ctx, "scale", "node", "--replicas", strconv.Itoa(n))
}

// Delete stops the cluster's processes and removes its files.
func (c Cluster) Delete(ctx context.Context) error {
	return c.kwokctl(ctx, "delete", "cluster", "--kubeconfig", c.Kubeconfig)
}

// Components are the cluster's processes, as kwokctl names them.
var Components = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok-controller"}

// Components returns the pids of the cluster's processes, from kwokctl's
// pid files.
func (c Cluster) Components() map[string]int {
	out := map[string]int{}
	files, _ := filepath.Glob(filepath.Join(c.Dir(), "pids", "*.pid"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if pid, err := strconv.Atoi(string(trimNL(b))); err == nil {
			out[filepath.Base(f[:len(f)-len(".pid")])] = pid
		}
	}
	return out
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}

func (c Cluster) kwokctl(ctx context.Context, args ...string) error {
	args = append([]string{"--name", labstate.ClusterName}, args...)
	cmd := exec.CommandContext(ctx, filepath.Join(c.Bin, "kwokctl"), args...)
	cmd.Env = append(os.Environ(), "KWOK_WORKDIR="+c.Workdir)
	if err := os.MkdirAll(filepath.Dir(c.LogFile), 0o755); err != nil {
		return err
	}
	log, err := os.OpenFile(c.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("kwokctl %s: %w (its output is in %s)", args[2], err, c.LogFile)
	}
	return nil
}
