package queue_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"switchboard/channels"
	"switchboard/queue"
	"switchboard/routing"
)

// accept puts user events with the given ids in u1's inbox on channel wa.
func accept(t *testing.T, st *queue.Store, ids ...string) string {
	t.Helper()
	conv := queue.ConversationID("wa", "u1")
	for i, id := range ids {
		ev := &channels.Event{ID: id, Channel: "wa", User: channels.User{ID: "u1"}, Kind: channels.KindText, Text: id,
			Timestamp: t0.Add(time.Duration(i) * time.Second)}
		if _, err := st.Accept(context.Background(), ev, conv, time.Hour, t0); err != nil {
			t.Fatal(err)
		}
	}
	return conv
}

// A worker whose batch outlives the lock: it renews the lock while it holds
// it; once the lock expired and another worker took the conversation, its
// renewal fails and its commits are refused, so no event is handled twice.
func TestLockRenewalAndStaleCommits(t *testing.T) {
	srv, r := openRedis(t)
	st := r.Store()
	ctx := context.Background()
	const ttl = 2 * time.Minute
	conv := accept(t, st, "e1", "e2")

	a, ok, err := st.Take(ctx, conv, "worker-a", ttl, 20, true)
	if err != nil || !ok || len(a.Events) != 2 {
		t.Fatalf("take by a = %+v, %v, %v; want both events", a, ok, err)
	}
	srv.FastForward(time.Minute)
	if err := st.Renew(ctx, conv, "worker-a", ttl); err != nil {
		t.Fatalf("renew by the holder = %v", err)
	}
	srv.FastForward(90 * time.Second) // 2.5 min after the take, 1.5 min after the renewal
	if _, ok, _ := st.Take(ctx, conv, "worker-b", ttl, 20, true); ok {
		t.Fatal("worker b took the conversation while a's renewed lock held")
	}

	srv.FastForward(ttl) // a stalls past its lock
	b, ok, err := st.Take(ctx, conv, "worker-b", ttl, 20, true)
	if err != nil || !ok || len(b.Events) != 2 {
		t.Fatalf("take by b after a's lock expired = %+v, %v, %v", b, ok, err)
	}
	err = st.Renew(ctx, conv, "worker-a", ttl)
	var stale *queue.StaleError
	if !errors.As(err, &stale) || !errors.Is(err, queue.ErrLockLost) || stale.Conversation != conv ||
		err.Error() != "conversation "+conv+": processing lock no longer held" {
		t.Fatalf("renew by a after losing the lock = %v, want a *StaleError wrapping ErrLockLost", err)
	}

	// b records e1; then a, late, tries to record it too.
	commit := func(token, ack, text string) error {
		rec, err := st.Load(ctx, conv)
		if err != nil {
			t.Fatal(err)
		}
		rec.State = routing.StateBot
		return st.Commit(ctx, &queue.Commit{Record: rec, Token: token, Ack: ack,
			Entries: []queue.Entry{{ID: queue.InboundEntryID(ack) + "-" + text, At: t0, Author: routing.AuthorUser, Kind: "text", Text: text}}})
	}
	if err := commit("worker-b", "e1", "by b"); err != nil {
		t.Fatalf("commit by the holder = %v", err)
	}
	cases := []struct {
		name, token, ack string
		want             error
	}{
		{"lost lock", "worker-a", "e2", queue.ErrLockLost},
		{"lost lock and event gone", "worker-a", "e1", queue.ErrLockLost},
		{"event gone", "", "e1", queue.ErrEventGone},
		{"event gone, lock held", "worker-b", "e1", queue.ErrEventGone},
		{"unknown event", "worker-b", "e9", queue.ErrEventGone},
	}
	for _, c := range cases {
		err := commit(c.token, c.ack, c.name)
		if !errors.Is(err, c.want) || !errors.As(err, &stale) || stale.Event != c.ack {
			t.Errorf("%s: commit = %v, want a *StaleError for %s wrapping %v", c.name, err, c.ack, c.want)
		}
	}
	err = st.Record(ctx, conv, "e1", queue.Entry{ID: "late", Author: routing.AuthorUser, Kind: "text"})
	if !errors.Is(err, queue.ErrEventGone) || err.Error() != "conversation "+conv+", event e1: event no longer in the inbox" {
		t.Errorf("record of a consumed event = %v, want ErrEventGone", err)
	}
	tx, err := st.Transcript(ctx, conv)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, e := range tx {
		texts = append(texts, e.Text)
	}
	if diff := cmp.Diff([]string{"by b"}, texts); diff != "" {
		t.Errorf("transcript (-want +got):\n%s", diff)
	}
	if rec, _ := st.Load(ctx, conv); rec.Version != 1 {
		t.Errorf("version %d after one accepted commit, want 1", rec.Version)
	}

	// b still holds the lock: e2 is left, so Unlock keeps it; once e2 is
	// recorded, Unlock releases it.
	if released, err := st.Unlock(ctx, conv, "worker-b", ttl); err != nil || released {
		t.Fatalf("unlock with e2 waiting = %v, %v; want kept", released, err)
	}
	if err := st.Record(ctx, conv, "e2", queue.Entry{ID: queue.InboundEntryID("e2"), Author: routing.AuthorUser, Kind: "text", Text: "e2"}); err != nil {
		t.Fatal(err)
	}
	if released, err := st.Unlock(ctx, conv, "worker-b", ttl); err != nil || !released {
		t.Fatalf("unlock with an empty inbox = %v, %v; want released", released, err)
	}
	if n, _ := st.PendingCount(ctx, "wa"); n != 0 {
		t.Error("conversation still pending after its inbox emptied")
	}
}

func TestRenewRejectsBadInput(t *testing.T) {
	_, st := openStore(t)
	ctx := context.Background()
	if err := st.Renew(ctx, "not-a-conversation", "w", time.Minute); !errors.Is(err, queue.ErrNotFound) {
		t.Errorf("renew of a bad id = %v, want ErrNotFound", err)
	}
	err := st.Renew(ctx, queue.ConversationID("wa", "u1"), "w", 0)
	if err == nil || queue.IsUnavailable(err) {
		t.Errorf("renew with TTL 0 = %v, want an error naming the limit", err)
	}
	if err := st.Renew(ctx, queue.ConversationID("wa", "u1"), "w", time.Minute); !errors.Is(err, queue.ErrLockLost) {
		t.Errorf("renew of a lock never taken = %v, want ErrLockLost", err)
	}
}

// A webhook's accept takes the free lock of a new event's conversation and
// reads the batch a worker's Take would; it leaves a held lock, and a
// duplicate, alone; a lock handed back frees the conversation with its
// events still waiting.
func TestAcceptAndTake(t *testing.T) {
	_, r := openRedis(t)
	st := r.Store()
	ctx := context.Background()
	const ttl = 2 * time.Minute
	conv := accept(t, st, "e1") // waiting from before, under no lock
	ev := func(id string) *channels.Event {
		return &channels.Event{ID: id, Channel: "wa", User: channels.User{ID: "u1"}, Kind: channels.KindText, Text: id, Timestamp: t0.Add(time.Minute)}
	}
	ids := func(b queue.Batch) (out []string) {
		for _, e := range b.Events {
			out = append(out, e.ID)
		}
		return out
	}

	res, b, taken, err := st.AcceptAndTake(ctx, ev("e2"), conv, time.Hour, t0, "webhook-1", ttl, 20)
	if err != nil || res != queue.AcceptedNew || !taken || !cmp.Equal(ids(b), []string{"e1", "e2"}) || b.Record == nil || b.Record.ID != conv {
		t.Fatalf("accept of e2 = %v, %+v, taken %v, %v; want new, taken, with e1 and e2 and the conversation", res, b, taken, err)
	}
	if b.Events[0].Text != "e1" || b.Events[1].Text != "e2" {
		t.Fatalf("the batch's events read %q and %q, want e1 and e2 (e2 the accepted event itself)", b.Events[0].Text, b.Events[1].Text)
	}
	if _, ok, _ := st.Take(ctx, conv, "worker", ttl, 20, true); ok {
		t.Fatal("a worker took the conversation the webhook holds")
	}
	res, _, taken, err = st.AcceptAndTake(ctx, ev("e3"), conv, time.Hour, t0, "webhook-2", ttl, 20)
	if err != nil || res != queue.AcceptedNew || taken {
		t.Fatalf("accept of e3 under the first webhook's lock = %v, taken %v, %v; want new, not taken", res, taken, err)
	}
	res, _, taken, err = st.AcceptAndTake(ctx, ev("e2"), conv, time.Hour, t0, "webhook-3", ttl, 20)
	if err != nil || res != queue.AcceptedPending || taken {
		t.Fatalf("e2 again = %v, taken %v, %v; want pending, not taken", res, taken, err)
	}

	if err := st.HandBack(ctx, conv, "someone-else"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := st.Take(ctx, conv, "worker", ttl, 20, true); ok {
		t.Fatal("a hand back by another token let the lock go")
	}
	if err := st.HandBack(ctx, conv, "webhook-1"); err != nil {
		t.Fatal(err)
	}
	pending, err := st.Pending(ctx, "wa", 10)
	if err != nil || !cmp.Equal(pending, []string{conv}) {
		t.Fatalf("pending after the hand back = %v, %v; want the conversation", pending, err)
	}
	w, ok, err := st.Take(ctx, conv, "worker", ttl, 20, true)
	if err != nil || !ok || !cmp.Equal(ids(w), []string{"e1", "e2", "e3"}) {
		t.Fatalf("take after the hand back = %v, %v, %v; want e1, e2, e3", ids(w), ok, err)
	}
}

// A worker hands the records of its last sends to Unlock: they are written
// in the release's round trip, whether the lock goes or stays because
// another event arrived.
func TestUnlockWritesHeldSendRecords(t *testing.T) {
	_, st := openStore(t)
	ctx := context.Background()
	const ttl = 2 * time.Minute
	conv := accept(t, st, "e1")
	b, ok, err := st.Take(ctx, conv, "worker", ttl, 20, true)
	if err != nil || !ok {
		t.Fatalf("take = %v, %v", ok, err)
	}
	var jobs []queue.SendJob
	for _, id := range []string{"j1", "j2"} {
		jobs = append(jobs, queue.SendJob{ID: id, Channel: "wa", Conversation: conv, Parts: []queue.SendPart{{Entry: "m-" + id}}, At: t0})
	}
	rec := b.Record
	rec.State = routing.StateBot
	entries := []queue.Entry{{ID: "m-j1", At: t0, Author: routing.AuthorBot, Kind: "message"}, {ID: "m-j2", At: t0, Author: routing.AuthorBot, Kind: "message"}}
	if err := st.Commit(ctx, &queue.Commit{Record: rec, Entries: entries, Sends: jobs[:1], Token: "worker", Ack: "e1"}); err != nil {
		t.Fatal(err)
	}
	if err := st.Commit(ctx, &queue.Commit{Record: rec, Sends: jobs[1:], Token: "worker"}); err != nil {
		t.Fatal(err)
	}
	record := func(job queue.SendJob, mid string) queue.SentRecord {
		return queue.SentRecord{Job: job, Part: job.Parts[0], PlatformIDs: []string{mid}, Finished: true}
	}

	accept(t, st, "e1", "e2") // e2 arrives while the worker sends: the lock stays
	if released, err := st.Unlock(ctx, conv, "worker", ttl, record(jobs[0], "mid.1")); err != nil || released {
		t.Fatalf("unlock with e2 waiting = %v, %v; want kept", released, err)
	}
	if released, err := st.Unlock(ctx, conv, "worker", ttl); err != nil || released {
		t.Fatalf("unlock without records, e2 waiting = %v, %v; want kept", released, err)
	}
	if err := st.Record(ctx, conv, "e2", queue.Entry{ID: queue.InboundEntryID("e2"), Author: routing.AuthorUser, Kind: "text"}); err != nil {
		t.Fatal(err)
	}
	if released, err := st.Unlock(ctx, conv, "worker", ttl, record(jobs[1], "mid.2")); err != nil || !released {
		t.Fatalf("unlock with an empty inbox = %v, %v; want released", released, err)
	}
	if _, ok, _ := st.Take(ctx, conv, "other", ttl, 20, true); !ok {
		t.Error("the lock is still held after the release")
	}
	for i, job := range jobs {
		mid := []string{"mid.1", "mid.2"}[i]
		if known, err := st.KnownMessage(ctx, conv, mid); err != nil || !known {
			t.Errorf("%s: platform id known = %v, %v; want its record written", job.ID, known, err)
		}
		if done, err := st.Delivered(ctx, job, job.Parts[0]); err != nil || !done {
			t.Errorf("%s: delivered = %v, %v; want sent", job.ID, done, err)
		}
	}
	if out, err := st.Outbox(ctx, "wa"); err != nil || len(out) != 0 {
		t.Errorf("outbox = %+v, %v; want both finished jobs out", out, err)
	}
}
