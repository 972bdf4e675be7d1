package queue_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when a goroutine outlives them: every
// client, task server and subscription a test opens must be closed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
