package queue_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"switchboard/channels"
	"switchboard/queue"
	"switchboard/routing"
)

// A job of three parts: the first sent, the second failed for good, the
// third never tried; then a Messenger read watermark.
func TestDeliveryOfAJobsParts(t *testing.T) {
	_, st := openStore(t)
	ctx := context.Background()
	conv := queue.ConversationID("fb", "u1")
	parts := []queue.SendPart{{Entry: "m1"}, {Entry: "m2"}, {Entry: "m3"}}
	job := queue.SendJob{ID: "j1", Channel: "fb", Conversation: conv, Parts: parts, At: t0}
	rec, _ := st.Load(ctx, conv)
	rec.State = routing.StateBot
	var entries []queue.Entry
	for i, p := range parts {
		entries = append(entries, queue.Entry{ID: p.Entry, At: t0.Add(time.Duration(i) * time.Minute), Author: routing.AuthorBot, Kind: "message"})
	}
	if err := st.Commit(ctx, &queue.Commit{Record: rec, Entries: entries, Sends: []queue.SendJob{job}}); err != nil {
		t.Fatal(err)
	}
	if out, err := st.Outbox(ctx, "fb"); err != nil || len(out) != 1 || out[0].ID != "j1" {
		t.Fatalf("outbox = %+v, %v; want the job", out, err)
	}
	if err := st.Sent(ctx, job, parts[0], []string{"mid.1"}, false); err != nil {
		t.Fatal(err)
	}
	if err := st.SendFailed(ctx, job, parts[1], "131047: re-engagement message"); err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, true, false} {
		if done, err := st.Delivered(ctx, job, parts[i]); err != nil || done != want {
			t.Errorf("part %d delivered = %v, %v; want %v", i, done, err, want)
		}
	}
	if known, _ := st.KnownMessage(ctx, conv, "mid.1"); !known {
		t.Error("sent message id unknown")
	}
	if err := st.Done(ctx, job); err != nil {
		t.Fatal(err)
	}
	if out, _ := st.Outbox(ctx, "fb"); len(out) != 0 {
		t.Errorf("outbox after Done = %+v", out)
	}
	// Read up to the first part: only it moves; the failed one stays failed.
	if err := st.DeliveredUpTo(ctx, conv, t0.Add(90*time.Second), channels.StatusRead); err != nil {
		t.Fatal(err)
	}
	tx, err := st.Transcript(ctx, conv)
	if err != nil {
		t.Fatal(err)
	}
	type delivery struct{ ID, Delivery, Error string }
	var got []delivery
	for _, e := range tx {
		got = append(got, delivery{e.ID, e.Delivery, e.DeliveryError})
	}
	want := []delivery{{"m1", "read", ""}, {"m2", "failed", "131047: re-engagement message"}, {"m3", "", ""}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("deliveries (-want +got):\n%s", diff)
	}
}

// The sweep finds inboxes left waiting; the processor's refill lists them.
func TestPendingConversations(t *testing.T) {
	_, st := openStore(t)
	ctx := context.Background()
	for i, user := range []string{"u1", "u2"} {
		ev := &channels.Event{ID: user + ".e1", Channel: "wa", User: channels.User{ID: user}, Kind: channels.KindText, Timestamp: t0}
		if _, err := st.Accept(ctx, ev, queue.ConversationID("wa", user), time.Hour, t0.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	u1, u2 := queue.ConversationID("wa", "u1"), queue.ConversationID("wa", "u2")
	cases := []struct {
		before time.Time
		want   []string
	}{
		{t0.Add(-time.Millisecond), []string{}},
		{t0, []string{u1}},
		{t0.Add(time.Hour), []string{u1, u2}},
	}
	for _, c := range cases {
		got, err := st.PendingConversations(ctx, "wa", c.before)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("pending before %s (-want +got):\n%s", c.before, diff)
		}
	}
	if got, _ := st.Pending(ctx, "wa", 1); !cmp.Equal(got, []string{u1}) {
		t.Errorf("longest waiting = %v, want u1", got)
	}
	if n, err := st.PendingCount(ctx, "fb"); err != nil || n != 0 {
		t.Errorf("fb has %d pending, %v; want none", n, err)
	}
}

// A transcript holding entries stored the earlier way (Entry's own JSON)
// reads them beside those of the short form, in both ways of reading.
func TestTranscriptOfBothEntryForms(t *testing.T) {
	srv, r := openRedis(t)
	st := r.Store()
	ctx := context.Background()
	conv := queue.ConversationID("fb", "u1")
	earlier := `{"id":"u_m.1","at":"2026-03-02T10:00:00Z","author":"user","kind":"text","text":"hello"}`
	if err := srv.Client().RPush(ctx, "t:{fb}:tx:"+conv, earlier).Err(); err != nil {
		t.Fatal(err)
	}
	rec, _ := st.Load(ctx, conv)
	rec.State = routing.StateBot
	reply := queue.Entry{ID: "gw_1", At: t0, Author: routing.AuthorBot, Kind: "message", Text: "hi"}
	if err := st.Commit(ctx, &queue.Commit{Record: rec, Entries: []queue.Entry{reply}}); err != nil {
		t.Fatal(err)
	}
	want := []queue.Entry{
		{ID: "u_m.1", EventID: "m.1", At: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC), Author: routing.AuthorUser, Kind: "text", Text: "hello"},
		reply,
	}
	all, err := st.Transcript(ctx, conv)
	if err != nil {
		t.Fatal(err)
	}
	page, _, err := st.TranscriptPage(ctx, conv, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string][]queue.Entry{"Transcript": all, "TranscriptPage": page} {
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", name, d)
		}
	}
}
