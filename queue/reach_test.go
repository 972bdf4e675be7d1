package queue_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"switchboard/queue"
)

func TestCallMarks(t *testing.T) {
	_, s := openStore(t)
	ctx := context.Background()
	if err := s.MarkCall(ctx, "wa", "c1", "c1-call-1", t0); err != nil {
		t.Fatal(err)
	}
	got, err := s.PendingCalls(ctx, "wa")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]queue.PendingCall{{Conversation: "c1", Key: "c1-call-1", At: time.UnixMilli(t0.UnixMilli())}}, got); diff != "" {
		t.Errorf("pending (-want +got):\n%s", diff)
	}
	// Another key leaves the mark; its own key removes it.
	if err := s.UnmarkCall(ctx, "wa", "c1", "c1-call"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.PendingCalls(ctx, "wa"); len(got) != 1 {
		t.Fatalf("a prefix of the key removed the mark: %v", got)
	}
	if err := s.UnmarkCall(ctx, "wa", "c1", "c1-call-1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.PendingCalls(ctx, "wa"); len(got) != 0 {
		t.Errorf("mark kept after unmark: %v", got)
	}
}

func TestAgentActivity(t *testing.T) {
	_, s := openStore(t)
	ctx := context.Background()
	if err := s.TouchAgent(ctx, "ana", t0); err != nil {
		t.Fatal(err)
	}
	got, err := s.AgentActivity(ctx, []string{"ana", "bruno"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !got["ana"].Equal(t0) {
		t.Errorf("activity = %v, want only ana at %s", got, t0)
	}
}
