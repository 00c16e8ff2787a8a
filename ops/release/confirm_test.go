package release

import "testing"

// The confirmations name the app and environments acted on, ask to type a
// protected environment's name, and ask at all only when the action is
// declared dangerous.
func TestConfirmations(t *testing.T) {
	prod := Env{Name: "prod", Protected: true}
	test := Env{Name: "test"}
	c := (&PromotePlan{App: "api", From: Env{Name: "preprod"}, To: prod}).Confirmation()
	if c.Title != "Promote api from preprod to prod?" || c.TypeName != "prod" || c.Target != "prod/api" || !c.Needed() || c.Action != ActPromoteProtected {
		t.Errorf("promote to prod: %+v", c)
	}
	c = (&PromotePlan{App: "api", From: Env{Name: "dev"}, To: test}).Confirmation()
	if c.Needed() || c.TypeName != "" || c.Action != ActPromote {
		t.Errorf("promote to an unprotected environment must not ask: %+v", c)
	}
	c = (&PreparePlan{Env: prod, From: Env{Name: "preprod"}}).Confirmation()
	if c.Title != "Prepare prod from preprod?" || c.TypeName != "prod" || c.Target != "prod" || !c.Needed() {
		t.Errorf("prepare prod: %+v", c)
	}
	c = RollbackConfirmation("api", "prod", true, 0)
	if c.Title != "Roll api in prod back to the previous revision?" || c.TypeName != "prod" || c.Target != "prod/api" || !c.Needed() {
		t.Errorf("rollback in prod: %+v", c)
	}
	c = RollbackConfirmation("web", "test", false, 3)
	if c.Title != "Roll web in test back to revision 3?" || c.TypeName != "" || !c.Needed() {
		t.Errorf("rollback in test: %+v", c)
	}
}
