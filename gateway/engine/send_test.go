package engine

import (
	"context"
	"testing"

	"switchboard/queue"
)

// A drain holds back the records of the jobs it finishes for its own
// conversation only.
func TestHeldRecordsAreTheDrainsOwn(t *testing.T) {
	job := func(conv string) queue.SentRecord {
		return queue.SentRecord{Job: queue.SendJob{ID: "j-" + conv, Conversation: conv}, Finished: true}
	}
	if holdRecord(context.Background(), job("c1")) {
		t.Fatal("a record held outside a drain")
	}
	h := &heldRecords{conv: "c1"}
	ctx := withHeldRecords(context.Background(), h)
	if holdRecord(ctx, job("c2")) {
		t.Error("another conversation's record held")
	}
	for range 2 {
		if !holdRecord(ctx, job("c1")) {
			t.Fatal("the drain's own record not held")
		}
	}
	if len(h.list) != 2 {
		t.Fatalf("held %d records of the drain's conversation, want 2", len(h.list))
	}
}
