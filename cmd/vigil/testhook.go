package main

import (
	"context"
	"fmt"
	"os"
)

// testHoldEnv, for the lab tests alone, makes a promotion stop once it is
// applied and journaled, its lock held, until the process is killed: the
// deterministic middle of a promotion (TestKilledMidPromotion). Never set
// it elsewhere: the promotion's lock is then freed only by its TTL.
const testHoldEnv = "VIGIL_TEST_ONLY_HOLD_PROMOTION"

// testHoldAfterPromote is release.Options.TestHoldAfterPromote when
// $VIGIL_TEST_ONLY_HOLD_PROMOTION is 1, else nil.
func testHoldAfterPromote() func(context.Context, string) {
	if os.Getenv(testHoldEnv) != "1" {
		return nil
	}
	return func(ctx context.Context, what string) {
		fmt.Fprintf(os.Stderr, "%s: holding the %s, its lock held (test hook)\n", testHoldEnv, what)
		<-ctx.Done()
	}
}
