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

// contact stores what a working conversation of user on channel wa leaves
// in Redis: a consumed event and one still in the inbox, a place in the
// line then an assignment to ana, a deadline, a send (outbox, sent ids and
// a status), an ended session, notices and a call request mark.
func contact(t *testing.T, st *queue.Store, user string) string {
	t.Helper()
	ctx := context.Background()
	conv := queue.ConversationID("wa", user)
	in := func(id string, kind channels.Kind) {
		ev := &channels.Event{ID: id, Channel: "wa", User: channels.User{ID: user}, Kind: kind, Text: "hello", Timestamp: t0}
		if _, err := st.Accept(ctx, ev, conv, time.Hour, t0); err != nil {
			t.Fatal(err)
		}
	}
	in(user+".in1", channels.KindText)
	in(user+".in2", channels.KindText)
	in(user+".out1:read", channels.KindStatus)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	rec, err := st.Load(ctx, conv)
	must(err)
	rec.State, rec.User = routing.StateWaiting, channels.User{ID: user}
	part := queue.SendPart{Entry: user + "-m1", Message: channels.Outbound{Text: "wait a moment"}}
	job := queue.SendJob{ID: user + "-j1", Channel: "wa", Conversation: conv, Parts: []queue.SendPart{part}, At: t0}
	must(st.Commit(ctx, &queue.Commit{Record: rec, Ack: user + ".in1", Line: queue.LineJoin, Since: t0,
		Entries:  []queue.Entry{{ID: queue.InboundEntryID(user + ".in1"), At: t0, Author: routing.AuthorUser, Kind: "text", Text: "hello"}},
		Sends:    []queue.SendJob{job},
		Sessions: []queue.SessionRecord{{ID: conv + "-1", User: user, Kind: routing.SessionBot, Start: t0, End: t0, Resolution: routing.ResolutionTransferred}},
		Notices:  []queue.Notice{{Type: routing.NoticeWaiting, Channel: "wa", Conversation: conv, At: t0}}}))
	must(st.Sent(ctx, job, part, []string{user + ".out1"}, false))
	if _, ok, err := st.UpdateDelivery(ctx, conv, user+".out1", channels.StatusRead, ""); err != nil || !ok {
		t.Fatalf("status of a sent message: %v, %v", ok, err)
	}
	must(st.Ack(ctx, conv, user+".out1:read"))
	rec.State, rec.AssignedTo = routing.StateAssigned, "ana"
	must(st.Commit(ctx, &queue.Commit{Record: rec, Line: queue.LineLeave}))
	must(st.Publish(ctx, queue.Notice{Type: routing.NoticeClaimed, Channel: "wa", Conversation: conv, At: t0, Agent: "ana"}))
	must(st.MarkCall(ctx, "wa", conv, conv+"-call-1", t0))
	return conv
}

// stored is what the store shows of one conversation.
type stored struct {
	Version     int64
	Transcript  int
	Pending     bool // events in its inbox
	Due         bool // an inactivity deadline
	Assigned    string
	Outbox      int
	KnownSent   bool // its sent message id maps back to it
	Sessions    int
	Notices     int
	CallMarked  bool
	SeenInbound bool // its consumed event would be a duplicate
}

func snapshot(t *testing.T, st *queue.Store, user string) stored {
	t.Helper()
	ctx := context.Background()
	conv := queue.ConversationID("wa", user)
	var s stored
	rec, err := st.Load(ctx, conv)
	if err != nil {
		t.Fatal(err)
	}
	s.Version = rec.Version
	tx, _ := st.Transcript(ctx, conv)
	s.Transcript = len(tx)
	pending, _ := st.Pending(ctx, "wa", 100)
	s.Pending = contains(pending, conv)
	due, _ := st.Due(ctx, "wa", t0.Add(24*time.Hour), 100)
	s.Due = contains(due, conv)
	byAgent, _ := st.AssignedTo(ctx, "wa")
	for agent, convs := range byAgent {
		if contains(convs, conv) {
			s.Assigned = agent
		}
	}
	jobs, _ := st.Outbox(ctx, "wa")
	for _, j := range jobs {
		if j.Conversation == conv {
			s.Outbox++
		}
	}
	s.KnownSent, _ = st.KnownMessage(ctx, conv, user+".out1")
	sessions, _, _ := st.Sessions(ctx, "wa", t0.Add(-time.Hour), time.Time{}, "", 100)
	for _, r := range sessions {
		if r.Conversation == conv {
			s.Sessions++
		}
	}
	notices, _ := st.ReadStream(ctx, "wa", "0-0", -1, 100)
	for _, n := range notices {
		if n.Conversation == conv {
			s.Notices++
		}
	}
	calls, _ := st.PendingCalls(ctx, "wa")
	for _, c := range calls {
		s.CallMarked = s.CallMarked || c.Conversation == conv
	}
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestEraseRemovesEverythingOfOneContact(t *testing.T) {
	_, st := openStore(t)
	ctx := context.Background()
	conv := contact(t, st, "u1")
	contact(t, st, "u2")
	before := stored{Version: 2, Transcript: 1, Pending: true, Due: true, Assigned: "ana", Outbox: 1, KnownSent: true,
		Sessions: 1, Notices: 2, CallMarked: true}
	for _, user := range []string{"u1", "u2"} {
		if diff := cmp.Diff(before, snapshot(t, st, user)); diff != "" {
			t.Fatalf("%s before the erasure (-want +got):\n%s", user, diff)
		}
	}

	gotConv, erased, err := st.Erase(ctx, "wa", "u1")
	if err != nil || gotConv != conv {
		t.Fatalf("erase = %s, %v", gotConv, err)
	}
	// Keys: the hash (which maps the sent id to its entry), state,
	// transcript, inbox and its payloads, the consumed event's dedupe
	// marker and the sent id's status event's marker. Entries: the
	// session, two notices, the outbox job, the pending mark, the
	// assignment and the call mark.
	if diff := cmp.Diff(queue.Erased{Keys: 7, Entries: 7, Sessions: 1}, erased); diff != "" {
		t.Errorf("erased (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(stored{}, snapshot(t, st, "u1")); diff != "" {
		t.Errorf("u1 after the erasure (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, snapshot(t, st, "u2")); diff != "" {
		t.Errorf("u2, not erased (-want +got):\n%s", diff)
	}
	if held, _ := st.Held(ctx, []string{"wa"}); held["ana"] != 1 {
		t.Errorf("held = %v, want ana 1 (u2 only)", held)
	}
	// The erased events are no longer known: a redelivery is new.
	ev := &channels.Event{ID: "u1.in1", Channel: "wa", User: channels.User{ID: "u1"}, Kind: channels.KindText, Timestamp: t0}
	if res, err := st.Accept(ctx, ev, conv, time.Hour, t0); err != nil || res != queue.AcceptedNew {
		t.Errorf("accept of an erased event = %v, %v; want AcceptedNew", res, err)
	}
}

func TestEraseWaitsForTheLockHolder(t *testing.T) {
	_, st := openStore(t)
	ctx := context.Background()
	conv := accept(t, st, "e1")
	if _, ok, err := st.Take(ctx, conv, "worker", time.Minute, 10, true); err != nil || !ok {
		t.Fatalf("take = %v, %v", ok, err)
	}
	if _, _, err := st.Erase(ctx, "wa", "u1"); !errors.Is(err, queue.ErrBusy) {
		t.Fatalf("erase while a worker holds the lock = %v, want ErrBusy", err)
	}
	if err := st.Record(ctx, conv, "e1", queue.Entry{ID: queue.InboundEntryID("e1"), At: t0, Author: routing.AuthorUser, Kind: "text"}); err != nil {
		t.Fatal(err)
	}
	if released, err := st.Unlock(ctx, conv, "worker", time.Minute); err != nil || !released {
		t.Fatalf("unlock = %v, %v", released, err)
	}
	// The transcript and the event's dedupe marker.
	if _, erased, err := st.Erase(ctx, "wa", "u1"); err != nil || erased != (queue.Erased{Keys: 2}) {
		t.Fatalf("erase after the unlock = %+v, %v; want 2 keys", erased, err)
	}
}
