package app

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/vigilops/vigil/integrations/kubernetes"
	"github.com/vigilops/vigil/ops/access"
)

// TestDescribeAndYAMLOnTheLab: from the matrix, enter opens the workload's
// rollout; d describes it as kubectl describe does (image, env var names
// and where their values come from), y shows its YAML with env values
// hidden, esc returns to the live rollout. No value of an env var is ever
// on screen.
func TestDescribeAndYAMLOnTheLab(t *testing.T) {
	l := newReleaseLab(t, "1.1.0")
	dev := l.cfg.Kubernetes.Environments[0].Namespace
	patch := `{"spec":{"template":{"spec":{"containers":[{"name":"app","env":[` +
		`{"name":"DB_PASSWORD","value":"hunter2-literal"},` +
		`{"name":"API_TOKEN","valueFrom":{"secretKeyRef":{"name":"api-secrets","key":"token"}}}]}]}}}}`
	if _, err := l.cs.AppsV1().Deployments(dev).Patch(context.Background(), l.app, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	tm, p := l.console(access.Actor{Name: "alice", Role: access.Viewer, Source: "local"})

	sendKeys(tm, "3")
	p.waitFor(t, l.app)
	sendKeys(tm, "enter")
	p.waitFor(t, l.app+" in dev · Deployment")
	sendKeys(tm, "d")
	p.waitFor(t, "describe · esc: back to the rollout")
	p.waitFor(t, "Image:      registry.lab.local/test/uiflow:1.1.0")
	p.waitFor(t, "DB_PASSWORD")
	p.waitFor(t, "API_TOKEN  from secret api-secrets/token")
	sendKeys(tm, "y")
	p.waitFor(t, "kind: Deployment")
	if s := p.screen(); strings.Contains(s, "hunter2") || strings.Contains(s, "managedFields") {
		t.Fatalf("the YAML shows a value or the managed fields:\n%s", s)
	}
	sendKeys(tm, "pgdown")
	p.waitFor(t, "value: "+kubernetes.HiddenValue)
	if s := p.screen(); strings.Contains(s, "hunter2") {
		t.Fatalf("the YAML shows a value:\n%s", s)
	}
	sendKeys(tm, "esc")
	p.waitFor(t, l.app+" in dev · Deployment")
	if strings.Contains(p.screen(), "kind: Deployment") {
		t.Fatalf("esc did not return to the rollout:\n%s", p.screen())
	}
}
