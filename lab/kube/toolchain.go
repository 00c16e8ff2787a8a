// Package kube is the lab's Kubernetes: the control plane binaries built
// from the Go module proxy, the kwok cluster, the demo product and the load
// mode.
package kube

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// commands are the binaries the lab needs, by package in lab/toolchain.
var commands = map[string]string{
	"kube-apiserver":          "k8s.io/kubernetes/cmd/kube-apiserver",
	"kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
	"kube-scheduler":          "k8s.io/kubernetes/cmd/kube-scheduler",
	"kubectl":                 "k8s.io/kubernetes/cmd/kubectl",
	"kwok":                    "sigs.k8s.io/kwok/cmd/kwok",
	"kwokctl":                 "sigs.k8s.io/kwok/cmd/kwokctl",
	"etcd":                    "./etcd",
}

// CacheDir is where the binaries are kept: $VIGIL_LAB_CACHE/bin, else
// $XDG_CACHE_HOME/vigil-lab/bin, else ~/.cache/vigil-lab/bin.
func CacheDir() string {
	base := os.Getenv("VIGIL_LAB_CACHE")
	if base == "" {
		c := os.Getenv("XDG_CACHE_HOME")
		if c == "" {
			home, _ := os.UserHomeDir()
			c = filepath.Join(home, ".cache")
		}
		base = filepath.Join(c, "vigil-lab")
	}
	return filepath.Join(base, "bin")
}

const stampName = ".toolchain-stamp"

// Stamp is a hash of the toolchain module's go.mod and go.sum: the pins the
// cached binaries were built from.
func Stamp(toolchainDir string) (string, error) {
	h := sha256.New()
	for _, f := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join(toolchainDir, f))
		if err != nil {
			return "", fmt.Errorf("reading the toolchain pins: %w", err)
		}
		fmt.Fprintf(h, "%s %d\n", f, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Fresh reports whether binDir holds every binary, built from the pins
// stamp names.
func Fresh(binDir, stamp string) bool {
	b, err := os.ReadFile(filepath.Join(binDir, stampName))
	if err != nil || string(b) != stamp+"\n" {
		return false
	}
	for name := range commands {
		if fi, err := os.Stat(filepath.Join(binDir, name)); err != nil || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// EnsureBinaries builds the binaries into binDir with `go build` from
// toolchainDir unless they are there and fresh, and reports whether it built.
func EnsureBinaries(toolchainDir, binDir string, log io.Writer) (bool, error) {
	stamp, err := Stamp(toolchainDir)
	if err != nil {
		return false, err
	}
	if Fresh(binDir, stamp) {
		return false, nil
	}
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return false, err
	}
	// A stale stamp must not survive a failed build.
	_ = os.Remove(filepath.Join(binDir, stampName))
	args := []string{"build", "-o", binDir + string(filepath.Separator)}
	for _, pkg := range commands {
		args = append(args, pkg)
	}
	fmt.Fprintf(log, "building the Kubernetes, kwok and etcd binaries into %s (about 6 minutes on 2 cores the first time)\n", binDir)
	start := time.Now()
	cmd := exec.Command("go", args...)
	cmd.Dir = toolchainDir
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return false, fmt.Errorf("go build in %s: %w", toolchainDir, err)
	}
	fmt.Fprintf(log, "built in %s\n", time.Since(start).Round(time.Second))
	return true, os.WriteFile(filepath.Join(binDir, stampName), []byte(stamp+"\n"), 0o644)
}
