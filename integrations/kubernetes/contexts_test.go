package kubernetes_test

import (
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
)

// Environments may live in different clusters: here the lab is reached
// through two kubeconfig contexts, each with its own client, informers and
// connection state.
func TestEnvironmentsInSeveralContexts(t *testing.T) {
	labConfig := lab(t)
	cfg, err := clientcmd.LoadFromFile(labConfig)
	if err != nil {
		t.Fatal(err)
	}
	current := cfg.Contexts[cfg.CurrentContext]
	if current == nil {
		t.Fatalf("the lab's kubeconfig %s has no current context", labConfig)
	}
	second := *current
	cfg.Contexts["vigil-second"] = &second
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, kubeconfig); err != nil {
		t.Fatal(err)
	}

	f := newFixture(t, kubeconfig, "dev", "prod")
	f.envs[1].Context = "vigil-second"
	f.deploy("dev", "api", "2.0.0", 1)
	f.deploy("prod", "api", "1.0.0", 1)
	f.start()
	m := f.svc.Matrix()
	if m.Envs[0].Conn.Context != "" || m.Envs[1].Conn.Context != "vigil-second" || !m.Envs[0].Conn.Connected || !m.Envs[1].Conn.Connected {
		t.Fatalf("connections: %+v / %+v", m.Envs[0].Conn, m.Envs[1].Conn)
	}
	plan, err := f.svc.PlanPromote(alice, "api", "", "prod")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Promote(f.ctx, alice, plan); err != nil {
		t.Fatal(err)
	}
	f.waitHealthy("prod", "api", "2.0.0")
	if c, _ := f.svc.Matrix().Cell("api", "prod"); c.Drift || !strings.HasPrefix(c.Workload.PromotedBy, "alice") {
		t.Fatalf("prod after a promotion across contexts: %+v", c)
	}
}
