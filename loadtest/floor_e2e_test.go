package loadtest

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"switchboard/queue/redistest"
)

// The end-to-end floor answers every message exactly once, takes every
// message out of its inbox and leaves each user's state.
func TestE2EFloorAnswersEveryMessageOnce(t *testing.T) {
	srv := redistest.StartKind(t, "embedded")
	chans := []Channel{
		{ID: "lt-wa", Platform: "whatsapp", Account: "106540352242922", Secret: "wa-secret"},
		{ID: "lt-fb", Platform: "messenger", Account: "110000000000001", Secret: "fb-secret"},
		{ID: "lt-ig", Platform: "instagram", Account: "17841400000000001", Secret: "ig-secret"},
	}
	f, err := StartE2EFloor(srv.URL, chans, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := NewRunner(RunOptions{Targets: []string{f.URL}, Users: 6, Count: 60, Concurrency: 4,
		Drain: 10 * time.Second, Progress: io.Discard, Label: "floor test"}, chans, f.Graph)
	if err != nil {
		t.Fatal(err)
	}
	res := r.Run(context.Background())
	if res.OK != 60 || res.Statuses["200"] != 60 {
		t.Fatalf("answers %v, want 60 × 200", res.Statuses)
	}
	if !res.Check.OK() || res.Replies != 60 || res.Check.Users != 6 {
		t.Fatalf("check %+v, %d replies, want 60 exactly once", res.Check, res.Replies)
	}
	if res.EndToEnd.Count() != 60 || res.EndToEndRate() <= 0 {
		t.Errorf("end to end: %d latencies, rate %.1f", res.EndToEnd.Count(), res.EndToEndRate())
	}
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	ctx := context.Background()
	for u := range 6 {
		uid := r.uid(u)
		if n := rdb.LLen(ctx, floorInbox(uid)).Val(); n != 0 {
			t.Errorf("user %s: %d messages left in the inbox", uid, n)
		}
		if st := rdb.Get(ctx, "lt:floor:st:"+uid).Val(); st == "" {
			t.Errorf("user %s: no state", uid)
		}
	}
}

// A body with no valid signature is refused and nothing is answered.
func TestE2EFloorRefusesABadSignature(t *testing.T) {
	srv := redistest.StartKind(t, "embedded")
	good := Channel{ID: "lt-wa", Platform: "whatsapp", Account: "106540352242922", Secret: "wa-secret"}
	f, err := StartE2EFloor(srv.URL, []Channel{good}, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	bad := good
	bad.Secret = "another"
	r, err := NewRunner(RunOptions{Targets: []string{f.URL}, Users: 1, Count: 3, Concurrency: 1, Progress: io.Discard}, []Channel{bad}, f.Graph)
	if err != nil {
		t.Fatal(err)
	}
	res := r.Run(context.Background())
	if res.Statuses["401"] != 3 || f.Graph.Total() != 0 {
		t.Errorf("answers %v, %d replies; want 3 × 401 and none", res.Statuses, f.Graph.Total())
	}
}
