package audit

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test must leave no goroutine behind: a subscription, a feed or a
// service that ends takes its goroutines with it.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
