package environments

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/vigilops/vigil/internal/testclock"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/release"
	"github.com/vigilops/vigil/ui/uitest"
)

// claimsMatrix is the shop with db a StatefulSet with claims: bound in
// prod, one pending in preprod, none in dev (no template there).
func claimsMatrix() *release.Matrix {
	m := shopMatrix(true)
	db := &m.Rows[1]
	db.Kind = release.StatefulSet
	for i := range db.Cells {
		w := db.Cells[i].Workload
		w.Kind = release.StatefulSet
		switch db.Cells[i].Env {
		case "prod":
			w.Claims = []release.Claim{
				{Name: "data-db-0", Template: "data", Size: "20Gi", Status: "Bound", StorageClass: "do-block-storage", Volume: "pvc-3f1a"},
				{Name: "data-db-1", Template: "data", Ordinal: 1, Size: "20Gi", Status: "Bound", StorageClass: "do-block-storage", Volume: "pvc-77c2"},
			}
		case "preprod":
			w.Claims = []release.Claim{
				{Name: "data-db-0", Template: "data", Size: "10Gi", Status: "Bound", StorageClass: "do-block-storage", Volume: "pvc-19d0"},
				{Name: "data-db-1", Template: "data", Ordinal: 1, Size: "10Gi", Status: "Pending", StorageClass: "do-block-storage"},
			}
		case "test":
			w.Claims = []release.Claim{{Name: "data-db-0", Template: "data", Size: "1Gi", Status: release.ClaimNotCreated}}
		}
	}
	return m
}

func TestClaimsView(t *testing.T) {
	m := newModel(t, access.Viewer, claimsMatrix(), 100, 30)
	press(m, "v")
	v := uitest.ASCII(t, m.View())
	for _, want := range []string{
		"StatefulSets and their PersistentVolumeClaims",
		"preprod  (preprod)",
		"data-db-1                 10Gi     Pending      do-block-storage",
		"data-db-0                 20Gi     Bound        do-block-storage  pvc-3f1a",
		"data-db-0                 1Gi      not created  (default class)",
		"no volumeClaimTemplate: its data lives in its pods",
	} {
		if !strings.Contains(v, want) {
			t.Errorf("%q missing from the storage view:\n%s", want, v)
		}
	}
	golden.RequireEqual(t, testclock.Unshift(v))

	// A new matrix redraws it; esc goes back to the matrix.
	mat := claimsMatrix()
	mat.Rows[1].Cells[2].Workload.Claims[1].Status = "Bound"
	m.SetMatrix(mat)
	if v := uitest.ASCII(t, m.View()); strings.Contains(v, "Pending") {
		t.Fatalf("the storage view did not follow the matrix:\n%s", v)
	}
	press(m, "esc")
	if strings.Contains(m.View(), "PersistentVolumeClaims") {
		t.Fatal("esc did not close the storage view")
	}
}
