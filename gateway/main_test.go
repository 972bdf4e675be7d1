package gateway

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when a goroutine outlives them. The
// one exception: after a dial to a stopped Redis failed, go-redis retries
// in the background once a second until it succeeds or sees its pool
// closed, so a test that stopped Redis can leave one asleep for up to a
// second after the App closed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9/internal/pool.(*ConnPool).tryDial"))
}
