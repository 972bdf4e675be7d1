package engine

import (
	"context"
	"testing"
	"time"
)

// A long-polling claim looks at the lines again after recheck even when no
// wake-up comes (a join it missed), and stops once its context ends.
func TestWaitLooksAgainWithoutAWakeUp(t *testing.T) {
	w := newWaiters()
	if !w.wait(context.Background(), []string{"wa"}, time.Millisecond) {
		t.Fatal("no wake-up and the recheck passed: wait said not to look again")
	}
	if w.count() != 0 {
		t.Errorf("%d waiters left after the wait", w.count())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if w.wait(ctx, []string{"wa"}, time.Hour) {
		t.Error("the context ended: wait said to look again")
	}
}
