package httpapi

import (
	"context"
	"testing"
	"time"
)

// Small bodies share the budget of one large one; a request that does not
// fit is refused after its wait and gets room once some is given back.
func TestByteBudget(t *testing.T) {
	ctx := context.Background()
	b := newByteBudget(2 * maxWebhookBody)
	for i := range 1000 {
		if !b.acquire(ctx, 2<<10, 0) {
			t.Fatalf("small body %d refused with %d bytes free", i, b.free)
		}
	}
	for range 1000 {
		b.release(2 << 10)
	}
	for i := range 2 {
		if !b.acquire(ctx, maxWebhookBody, 0) {
			t.Fatalf("body %d of the largest size refused by a budget of two", i+1)
		}
	}
	if b.acquire(ctx, 1, time.Millisecond) {
		t.Fatal("a byte taken from a spent budget")
	}
	got := make(chan bool)
	go func() { got <- b.acquire(ctx, maxWebhookBody, time.Minute) }()
	b.release(maxWebhookBody)
	if !<-got {
		t.Fatal("a waiting body did not get the room given back")
	}
	if b.free != 0 || len(b.waiting) != 0 {
		t.Errorf("free %d, %d waiting; want 0 and none", b.free, len(b.waiting))
	}
}

// Requests are served in order: a small one does not pass a large one
// waiting before it, and a waiter that gives up lets the next one in.
func TestByteBudgetOrder(t *testing.T) {
	ctx := context.Background()
	b := newByteBudget(4 << 20)
	if !b.acquire(ctx, 3<<20, 0) {
		t.Fatal("first body refused")
	}
	large := make(chan bool)
	go func() { large <- b.acquire(ctx, 2<<20, time.Minute) }()
	waitFor(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return len(b.waiting) == 1 })
	if b.acquire(ctx, 1<<10, time.Millisecond) {
		t.Error("a small body passed the large one waiting before it")
	}
	b.release(3 << 20)
	if !<-large {
		t.Fatal("the large body did not get its room")
	}

	// A waiter whose request ends leaves, and the one behind it gets in.
	if !b.acquire(ctx, 2<<20, 0) { // the budget is now spent
		t.Fatal("second body refused")
	}
	gone, cancel := context.WithCancel(ctx)
	first := make(chan bool)
	go func() { first <- b.acquire(gone, 3<<20, time.Minute) }()
	waitFor(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return len(b.waiting) == 1 })
	second := make(chan bool)
	go func() { second <- b.acquire(ctx, 1<<20, time.Minute) }()
	waitFor(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return len(b.waiting) == 2 })
	b.release(2 << 20) // 2 MiB free: not enough for the first, which blocks the second
	cancel()
	if <-first {
		t.Error("a cancelled request got its room")
	}
	if !<-second {
		t.Error("the request behind a cancelled one did not get in")
	}
}

// waitFor polls cond (a goroutine reaching a state) for up to 5 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}
