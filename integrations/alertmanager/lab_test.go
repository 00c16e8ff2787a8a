package alertmanager_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/vigilops/vigil/integrations/alertmanager"
	"github.com/vigilops/vigil/integrations/prometheus"
	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/incident"
)

// TestLabBadReleaseLifecycle runs the incident flow (see incidentFlow) on
// the lab's real Prometheus and Alertmanager: a -bad release of prod/worker,
// set and rolled back with client-go, fires AppHighErrorRate.
func TestLabBadReleaseLifecycle(t *testing.T) {
	env := labtest.Env(t, "VIGIL_LAB_PROMETHEUS_URL", "VIGIL_LAB_ALERTMANAGER_URL", "KUBECONFIG")
	promURL, amURL := env["VIGIL_LAB_PROMETHEUS_URL"], env["VIGIL_LAB_ALERTMANAGER_URL"]
	amtool := binary(t, "amtool")
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()

	cfg, err := clientcmd.BuildConfigFromFlags("", env["KUBECONFIG"])
	if err != nil {
		t.Fatal(err)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const ns, app = "prod", "worker"
	dep, err := kube.AppsV1().Deployments(ns).Get(ctx, app, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	container, good := dep.Spec.Template.Spec.Containers[0].Name, dep.Spec.Template.Spec.Containers[0].Image
	if strings.Contains(good, "bad") {
		t.Fatalf("%s/%s already runs a bad image %s: roll it back first", ns, app, good)
	}
	setImage := func(ctx context.Context, image string) error {
		patch := fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":%q,"image":%q}]}}}}`, container, image)
		_, err := kube.AppsV1().Deployments(ns).Patch(ctx, app, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
		return err
	}
	t.Cleanup(func() { // leave the shared lab as found, even on failure
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := setImage(c, good); err != nil {
			t.Errorf("restoring %s/%s to %s: %v", ns, app, good, err)
		}
	})

	pc, err := prometheus.New(promURL)
	if err != nil {
		t.Fatal(err)
	}
	ac, err := alertmanager.New([]string{amURL})
	if err != nil {
		t.Fatal(err)
	}
	svc := newService(t, incident.Options{Prometheus: pc, Alertmanager: ac})
	if svc.Interval() != 5*time.Second {
		t.Fatalf("default interval %s, want 5s", svc.Interval())
	}
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	go svc.Run(runCtx)

	if err := setImage(ctx, good+"-bad"); err != nil {
		t.Fatal(err)
	}
	firing := incidentFlow{
		svc: svc, am: ac, promURL: promURL, amURL: amURL, amtool: amtool,
		alertname: "AppHighErrorRate", workload: ns + "/" + app, threshold: 0.05,
		rollback: func(ctx context.Context) error { return setImage(ctx, good) },
	}
	firing.run(t, ctx)
}
