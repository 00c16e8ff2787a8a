package kubernetes_test

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/vigilops/vigil/integrations/kubernetes"
	"github.com/vigilops/vigil/ops/release"
)

// BenchmarkMatrixOnLoad measures the start of the release service on a
// cluster holding the lab's load (`vigil-lab load --apps N`: apps labelled
// app.kubernetes.io/part-of=load in dev, test, preprod and prod): the time
// until the whole matrix is built, the Go heap the caches keep, and the
// process RSS. Point VIGIL_BENCH_KUBECONFIG at such a cluster (not the
// shared lab while others use it: the load is heavy).
func BenchmarkMatrixOnLoad(b *testing.B) {
	kubeconfig := os.Getenv("VIGIL_BENCH_KUBECONFIG")
	if kubeconfig == "" {
		b.Skip("set VIGIL_BENCH_KUBECONFIG to a kubeconfig of a cluster loaded by `vigil-lab load --apps 500`")
	}
	var envs []release.Env
	for _, n := range []string{"dev", "test", "preprod", "prod"} {
		envs = append(envs, release.Env{Name: n, Namespace: n})
	}
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		ctx, cancel := context.WithCancel(context.Background())
		start := time.Now()
		svc := release.New(envs, kubernetes.New(ctx, kubeconfig), nil, release.Options{Selector: "app.kubernetes.io/part-of=load"})
		if err := svc.Start(ctx); err != nil {
			b.Fatal(err)
		}
		elapsed := time.Since(start)
		m := svc.Matrix()
		for _, r := range m.Rows {
			for _, c := range r.Cells {
				if c.Workload == nil {
					b.Fatalf("%s has no cell in %s", r.App, c.Env)
				}
			}
		}
		// A change reaches the matrix through the watch.
		updated := updateLatency(b, ctx, kubeconfig, svc)
		// Idle: after the sync, only watch events (none here) should wake vigil.
		time.Sleep(time.Second)
		cpu0, wall0 := cpuTime(), time.Now()
		time.Sleep(5 * time.Second)
		idle := float64(cpuTime()-cpu0) / float64(time.Since(wall0)) * 100
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(len(m.Rows)), "apps")
		b.ReportMetric(float64(elapsed.Milliseconds()), "ms-to-matrix")
		b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/(1<<20), "MB-heap")
		b.ReportMetric(rssMB(), "MB-rss")
		b.ReportMetric(idle, "%-core-idle")
		b.ReportMetric(float64(updated.Microseconds())/1000, "ms-to-update")
		cancel()
	}
}

func rssMB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// cpuTime is the CPU time the process has used (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// updateLatency changes the change-cause of app-0000 in dev and returns how
// long the matrix took to show it.
func updateLatency(b *testing.B, ctx context.Context, kubeconfig string, svc *release.Service) time.Duration {
	b.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		b.Fatal(err)
	}
	cs, err := k8s.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	changes, stop := svc.Subscribe()
	defer stop()
	cause := "bench " + time.Now().Format(time.RFC3339Nano)
	patch := []byte(`{"metadata":{"annotations":{"kubernetes.io/change-cause":"` + cause + `"}}}`)
	start := time.Now()
	if _, err := cs.AppsV1().Deployments("dev").Patch(ctx, "app-0000", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		b.Fatal(err)
	}
	timeout := time.After(10 * time.Second)
	for {
		if c, ok := svc.Matrix().Cell("app-0000", "dev"); ok && c.Workload.ChangeCause == cause {
			return time.Since(start)
		}
		select {
		case <-changes:
		case <-timeout:
			b.Fatal("the change did not reach the matrix within 10s")
		}
	}
}
