package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestReadyCells(t *testing.T) {
	for _, c := range []struct {
		line string
		want int
	}{
		{"│app-0499   1.0.0    3/3 ✓          1.0.0    3/3 ✓          1.0.0    3/3 ✓          1.0.0    3/3 ✓   │", 4},
		{"│app-0499   1.0.0    3/3 ✓          1.0.0    1/3 ◐          -                       1.0.0    0/0 ✓   │", 1},
		{"│app-0499 (filtered) 2/2", 1},
	} {
		if got := readyCells(c.line); got != c.want {
			t.Errorf("readyCells(%q) = %d, want %d", c.line, got, c.want)
		}
	}
}

func TestQuantiles(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	p50, p95, p99 := quantiles(ds)
	if p50 != 51*time.Millisecond || p95 != 96*time.Millisecond || p99 != 100*time.Millisecond {
		t.Fatalf("p50 %v p95 %v p99 %v", p50, p95, p99)
	}
	if ds[0] != 100*time.Millisecond {
		t.Fatal("quantiles sorted its argument")
	}
}

func TestSandboxKeepsKubernetesOnly(t *testing.T) {
	dir := t.TempDir()
	lab := filepath.Join(dir, "vigil.yaml")
	if err := os.WriteFile(lab, []byte("kubernetes:\n  kubeconfig: /k\nprometheus:\n  url: http://p\nserve:\n  listen: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := newSandbox(filepath.Join(dir, "home"), lab, false)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(s.config)
	if err != nil {
		t.Fatal(err)
	}
	want := "audit:\n    path: " + filepath.Join(dir, "home", "journal.db") + "\nkubernetes:\n    kubeconfig: /k\n"
	if string(data) != want {
		t.Fatalf("config:\n%s\nwant:\n%s", data, want)
	}
}
