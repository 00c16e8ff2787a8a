package kube

import (
	"os"
	"path/filepath"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

func TestStampFollowsThePins(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module x\n")
	write("go.sum", "a v1 h1:x\n")
	s1, err := Stamp(dir)
	if err != nil {
		t.Fatal(err)
	}
	write("go.sum", "a v2 h1:y\n")
	s2, _ := Stamp(dir)
	// The same bytes moved from one file to the other are another pin.
	write("go.mod", "module x\na v2 h1:y\n")
	write("go.sum", "")
	s3, _ := Stamp(dir)
	if s1 == s2 || s2 == s3 || s1 == s3 {
		t.Fatalf("stamps do not follow the pins: %s %s %s", s1, s2, s3)
	}
	if _, err := Stamp(t.TempDir()); err == nil {
		t.Fatal("a toolchain dir without go.mod gave a stamp")
	}
}

func TestFreshNeedsEveryBinaryAndTheSameStamp(t *testing.T) {
	bin := t.TempDir()
	for name := range commands {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/true\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if Fresh(bin, "s1") {
		t.Fatal("fresh without a stamp")
	}
	if err := os.WriteFile(filepath.Join(bin, stampName), []byte("s1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if !Fresh(bin, "s1") {
		t.Fatal("not fresh with every binary and the same stamp")
	}
	if Fresh(bin, "s2") {
		t.Fatal("fresh although the pins changed")
	}
	if err := os.Remove(filepath.Join(bin, "kwokctl")); err != nil {
		t.Fatal(err)
	}
	if Fresh(bin, "s1") {
		t.Fatal("fresh without kwokctl")
	}
}

func TestShop(t *testing.T) {
	shop := Shop()
	if len(shop) != 16 {
		t.Fatalf("%d workloads, want 4 apps × 4 environments", len(shop))
	}
	versions := map[string]string{}
	for _, w := range shop {
		versions[w.Namespace+"/"+w.Name] = w.Version
		switch o := w.Object().(type) {
		case *appsv1.Deployment:
			if w.Stateful || *o.Spec.ProgressDeadlineSeconds != ProgressDeadline {
				t.Errorf("%s/%s: a Deployment with progress deadline %d", w.Namespace, w.Name, *o.Spec.ProgressDeadlineSeconds)
			}
			if o.Spec.Template.Labels["app.kubernetes.io/part-of"] != "shop" || o.Spec.Template.Spec.Containers[0].Image != w.Image() {
				t.Errorf("%s/%s: template %v", w.Namespace, w.Name, o.Spec.Template)
			}
		case *appsv1.StatefulSet:
			if !w.Stateful || w.Name != "db" {
				t.Errorf("%s/%s is a StatefulSet", w.Namespace, w.Name)
			}
		}
	}
	if versions["prod/api"] == versions["preprod/api"] {
		t.Error("prod runs the same api as preprod: nothing to promote in the demo")
	}
	if n := len(Load(5, 3)); n != 20 {
		t.Errorf("Load(5) = %d workloads, want 20", n)
	}
}
