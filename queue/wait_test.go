package queue_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"switchboard/channels"
	"switchboard/queue"
	"switchboard/queue/redistest"
	"switchboard/routing"
)

// With WaitReplicas, Accept returns once the event reached that many
// replicas; when fewer acknowledge in time it fails as unavailable (the
// webhook answers 503), and the event stays accepted for the redelivery,
// which waits again.
func TestAcceptWaitsForReplicas(t *testing.T) {
	srv := redistest.Start(t)
	replicas := 0 // what each kind of test Redis has
	if srv.Kind == "cluster" || srv.Kind == "sentinel" {
		replicas = 1
	}
	ctx := context.Background()
	conv := queue.ConversationID("wa", "u1")
	ev := func(id string) *channels.Event {
		return &channels.Event{ID: id, Channel: "wa", User: channels.User{ID: "u1"}, Kind: channels.KindText, Timestamp: t0}
	}
	open := func(want int, timeout time.Duration) (*queue.Store, *[]time.Duration) {
		var mu sync.Mutex
		waits := &[]time.Duration{}
		r, err := queue.Open(ctx, optionsFor(srv, queue.Options{Prefix: "t:", WaitReplicas: want, WaitTimeout: timeout,
			ObserveWait: func(d time.Duration) { mu.Lock(); *waits = append(*waits, d); mu.Unlock() }}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r.Store(), waits
	}

	if replicas > 0 {
		// A replica acknowledges within milliseconds; the timeout leaves
		// room for a busy machine.
		st, waits := open(replicas, 5*time.Second)
		if res, err := st.Accept(ctx, ev("wamid.W1"), conv, time.Hour, t0); err != nil || res != queue.AcceptedNew {
			t.Fatalf("accept with %d replicas = %v, %v", replicas, res, err)
		}
		if res, err := st.Accept(ctx, ev("wamid.W1"), conv, time.Hour, t0); err != nil || res != queue.AcceptedPending {
			t.Fatalf("redelivery = %v, %v, want pending", res, err)
		}
		if len(*waits) != 2 {
			t.Errorf("%d waits observed, want 2", len(*waits))
		}
	}

	st, waits := open(replicas+1, 100*time.Millisecond)
	_, err := st.Accept(ctx, ev("wamid.W2"), conv, time.Hour, t0)
	if !errors.Is(err, queue.ErrNotReplicated) || !queue.IsUnavailable(err) {
		t.Fatalf("accept wanting %d replicas of %d = %v, want ErrNotReplicated and unavailable", replicas+1, replicas, err)
	}
	if len(*waits) != 1 || (srv.Kind != "embedded" && (*waits)[0] < 100*time.Millisecond) {
		t.Errorf("waits observed = %v, want one of at least the 100ms timeout", *waits)
	}
	// The event was accepted nonetheless: the redelivery finds it pending
	// and fails the same way until the replicas catch up.
	if _, err := st.Accept(ctx, ev("wamid.W2"), conv, time.Hour, t0); !errors.Is(err, queue.ErrNotReplicated) {
		t.Fatalf("redelivery = %v, want ErrNotReplicated", err)
	}
	plain, _ := open(0, 0)
	if res, err := plain.Accept(ctx, ev("wamid.W2"), conv, time.Hour, t0); err != nil || res != queue.AcceptedPending {
		t.Fatalf("accept without waiting = %v, %v, want pending", res, err)
	}
}

// A worker's writes wait for replicas too: its lock (taken even when the
// replicas are late), its commit and a send's record, which report
// ErrNotReplicated when the replicas are late but were made on the master.
// The commit, tried again as it is, is recognised as applied (Replayed)
// instead of refused or applied twice, and its retry's WAIT covers it.
func TestWorkerWritesWaitForReplicas(t *testing.T) {
	srv := redistest.Start(t)
	replicas := 0
	if srv.Kind == "cluster" || srv.Kind == "sentinel" {
		replicas = 1
	}
	ctx := context.Background()
	open := func(want int) *queue.Store {
		r, err := queue.Open(ctx, optionsFor(srv, queue.Options{Prefix: "t:", WaitReplicas: want, WaitTimeout: 100 * time.Millisecond}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r.Store()
	}
	late, plain := open(replicas+1), open(0)
	conv := accept(t, plain, "e1", "e2")

	b, ok, err := late.Take(ctx, conv, "worker", time.Minute, 20, true)
	if err != nil || !ok || len(b.Events) != 2 {
		t.Fatalf("take with late replicas = %+v, %v, %v; want the lock and both events", b, ok, err)
	}
	job := queue.SendJob{ID: "job-1", Channel: "wa", Conversation: conv, Parts: []queue.SendPart{{Entry: "out-1"}}}
	c := &queue.Commit{Record: b.Record, Token: "worker", Ack: "e1", Sends: []queue.SendJob{job},
		Entries: []queue.Entry{{ID: queue.InboundEntryID("e1"), At: t0, Author: routing.AuthorUser, Kind: "text", Text: "e1"}},
		Day:     "2026-11-20",
		Daily:   queue.Daily{Counts: map[string]int64{"transfers": 1}}}
	if err := late.Commit(ctx, c); !errors.Is(err, queue.ErrNotReplicated) || !queue.IsUnavailable(err) || c.Replayed {
		t.Fatalf("commit with late replicas = %v (replayed %v), want ErrNotReplicated", err, c.Replayed)
	}
	if err := late.Commit(ctx, c); !errors.Is(err, queue.ErrNotReplicated) || c.Replayed {
		t.Fatalf("the same commit again with late replicas = %v (replayed %v), want ErrNotReplicated", err, c.Replayed)
	}
	// Once the replicas keep up (here: fewer asked for), the retry
	// succeeds without writing again.
	if err := plain.Commit(ctx, c); err != nil || !c.Replayed {
		t.Fatalf("the same commit again = %v (replayed %v), want recognised as applied", err, c.Replayed)
	}
	if rec, _ := plain.Load(ctx, conv); rec.Version != 1 {
		t.Errorf("version %d after one commit tried three times, want 1", rec.Version)
	}
	if tx, _ := plain.Transcript(ctx, conv); len(tx) != 1 {
		t.Errorf("transcript has %d entries after one commit tried three times, want 1", len(tx))
	}
	if d, err := plain.DailyStats(ctx, queue.ChannelOf(conv), c.Day); err != nil || d.Counts["transfers"] != 1 {
		t.Errorf("day's counts after one commit tried three times = %+v, %v; want it counted once", d.Counts, err)
	}
	// Another holder's commit of the same event is still refused: only
	// this very commit is a replay.
	other := *c
	other.Token, other.Replayed = "other", false
	if _, ok, _ := plain.Take(ctx, conv, "other", time.Minute, 20, true); ok {
		t.Fatal("another worker took the conversation while the lock held")
	}
	if err := plain.Commit(ctx, &other); !errors.Is(err, queue.ErrLockLost) {
		t.Errorf("another token's commit of the same event = %v, want ErrLockLost", err)
	}
	// A commit of the next event is not a replay of the first.
	rec, _ := plain.Load(ctx, conv)
	next := &queue.Commit{Record: rec, Token: "worker", Ack: "e2",
		Entries: []queue.Entry{{ID: queue.InboundEntryID("e2"), At: t0, Author: routing.AuthorUser, Kind: "text", Text: "e2"}}}
	if err := plain.Commit(ctx, next); err != nil || next.Replayed {
		t.Fatalf("commit of the next event = %v (replayed %v)", err, next.Replayed)
	}
	if err := plain.Commit(ctx, c); !errors.Is(err, queue.ErrEventGone) {
		t.Errorf("the first commit after the next one = %v, want ErrEventGone", err)
	}

	// A send's record: made on the master, reported not replicated; the
	// same record again writes the same.
	if err := late.Sent(ctx, job, job.Parts[0], []string{"wamid.OUT1"}, true); !errors.Is(err, queue.ErrNotReplicated) {
		t.Fatalf("send record with late replicas = %v, want ErrNotReplicated", err)
	}
	if done, err := plain.Delivered(ctx, job, job.Parts[0]); err != nil || !done {
		t.Errorf("part delivered = %v, %v after its record, want true", done, err)
	}
	if err := plain.Sent(ctx, job, job.Parts[0], []string{"wamid.OUT1"}, true); err != nil {
		t.Fatalf("send record again = %v", err)
	}
	if jobs, _ := plain.Outbox(ctx, "wa"); len(jobs) != 0 {
		t.Errorf("outbox after the last part's record = %v, want empty", jobs)
	}
	if known, _ := plain.KnownMessage(ctx, job.Conversation, "wamid.OUT1"); !known {
		t.Error("the sent message's platform id is not known")
	}
	if replicas > 0 {
		// With the replicas there, every one of these writes returns once
		// they have it.
		enough := open(replicas)
		conv := queue.ConversationID("wa", "u2")
		if _, err := enough.Accept(ctx, &channels.Event{ID: "e3", Channel: "wa", User: channels.User{ID: "u2"}, Kind: channels.KindText, Timestamp: t0}, conv, time.Hour, t0); err != nil {
			t.Fatal(err)
		}
		b, ok, err := enough.Take(ctx, conv, "w2", time.Minute, 20, true)
		if err != nil || !ok {
			t.Fatalf("take = %v, %v", ok, err)
		}
		c := &queue.Commit{Record: b.Record, Token: "w2", Ack: "e3"}
		if err := enough.Commit(ctx, c); err != nil || c.Replayed {
			t.Fatalf("commit with the replicas there = %v (replayed %v)", err, c.Replayed)
		}
		if err := enough.Sent(ctx, job, job.Parts[0], nil, true); err != nil {
			t.Fatalf("send record with the replicas there = %v", err)
		}
	}
}
