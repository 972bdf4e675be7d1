package queue_test

import (
	"context"
	"errors"
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

// A commit notes agents' activity in its round trip, refused or not.
func TestAgentActivity(t *testing.T) {
	_, s := openStore(t)
	ctx := context.Background()
	if got, err := s.AgentActivity(ctx, []string{"ana", "bruno"}); err != nil || len(got) != 0 {
		t.Fatalf("activity before any = %v, %v; want none", got, err)
	}
	rec, err := s.Load(ctx, queue.ConversationID("wa", "u1"))
	if err != nil {
		t.Fatal(err)
	}
	c := &queue.Commit{Record: rec, Day: "2026-11-20", Daily: queue.Daily{Waits: []time.Duration{time.Second}},
		Touch: []queue.Activity{{Agent: "bruno", At: t0.Add(time.Minute)}}}
	if err := s.Commit(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, _ := s.AgentActivity(ctx, []string{"ana", "bruno"})
	if len(got) != 1 || !got["bruno"].Equal(t0.Add(time.Minute)) {
		t.Errorf("activity after a commit = %v, want only bruno at +1m", got)
	}
	c.Record.Version, c.Touch = 0, []queue.Activity{{Agent: "ana", At: t0.Add(2 * time.Minute)}}
	if err := s.Commit(ctx, c); !errors.Is(err, queue.ErrConflict) {
		t.Fatalf("a commit of an old version = %v, want ErrConflict", err)
	}
	got, _ = s.AgentActivity(ctx, []string{"ana", "bruno"})
	if !got["bruno"].Equal(t0.Add(time.Minute)) || !got["ana"].Equal(t0.Add(2*time.Minute)) {
		t.Errorf("activity after the commits = %v, want bruno at +1m, ana at +2m", got)
	}
	if d, _ := s.DailyStats(ctx, "wa", "2026-11-20"); len(d.Waits) != 1 {
		t.Errorf("waits counted with the activity = %v, want one", d.Waits)
	}
}
