package queue_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"switchboard/queue"
	"switchboard/routing"
)

// ClaimOldest takes the head that has waited longest among the lines,
// whichever line it is in, with the conversation as Load reads it.
func TestClaimOldestAcrossLines(t *testing.T) {
	_, st := openStore(t)
	ctx := context.Background()
	wa := join(t, st, "wa", 3) // since t0, t0+1s, t0+2s
	fb := join(t, st, "fb", 1) // since t0
	if _, _, err := st.Claim(ctx, "wa", t0); err != nil {
		t.Fatal(err)
	}
	all := queue.Claimer{Agent: "ana", Channels: []string{"wa", "fb", "ig"}}
	want := []queue.Waiting{
		{Conversation: fb[0], Channel: "fb", Since: t0},
		{Conversation: wa[1], Channel: "wa", Since: t0.Add(time.Second)},
		{Conversation: wa[2], Channel: "wa", Since: t0.Add(2 * time.Second)},
	}
	for _, want := range want {
		w, ok, err := st.ClaimOldest(ctx, all, t0)
		if err != nil || !ok {
			t.Fatalf("claim = %v, %v; want %s", ok, err, want.Conversation)
		}
		loaded, err := st.Load(ctx, want.Conversation)
		if err != nil {
			t.Fatal(err)
		}
		if w.Record == nil || !cmp.Equal(*w.Record, *loaded) {
			t.Errorf("claimed record = %+v, want %+v", w.Record, loaded)
		}
		w.Record = nil
		if diff := cmp.Diff(want, w); diff != "" {
			t.Errorf("claimed (-want +got):\n%s", diff)
		}
	}
	if w, ok, err := st.ClaimOldest(ctx, all, t0); err != nil || ok {
		t.Errorf("claim of empty lines = %+v, %v, %v; want none", w, ok, err)
	}
}

func TestLineLengths(t *testing.T) {
	_, st := openStore(t)
	ctx := context.Background()
	join(t, st, "wa", 3)
	join(t, st, "fb", 1)
	for ch, want := range map[string]int64{"wa": 3, "fb": 1, "ig": 0} {
		if n, err := st.LineLength(ctx, ch); err != nil || n != want {
			t.Errorf("line length of %s = %d, %v; want %d", ch, n, err, want)
		}
	}
	if p, err := st.Position(ctx, queue.ConversationID("wa", "nobody")); err != nil || p != 0 {
		t.Errorf("position of a conversation not waiting = %d, %v", p, err)
	}
	if line, _ := st.Line(ctx, "wa", 2); len(line) != 2 {
		t.Errorf("line limited to 2 = %+v", line)
	}
}

// A claim never committed goes back to its place; one whose conversation
// no longer waits is dropped.
func TestStaleClaims(t *testing.T) {
	_, st := openStore(t)
	ctx := context.Background()
	ids := join(t, st, "wa", 3)
	for i := range 2 {
		if _, ok, err := st.Claim(ctx, "wa", t0.Add(time.Duration(i)*time.Minute)); err != nil || !ok {
			t.Fatalf("claim %d = %v, %v", i, ok, err)
		}
	}
	cases := []struct {
		cutoff time.Time
		want   []string
	}{
		{t0.Add(-time.Second), []string{}},
		{t0, []string{ids[0]}},
		{t0.Add(time.Hour), []string{ids[0], ids[1]}},
	}
	for _, c := range cases {
		got, err := st.StaleClaims(ctx, "wa", c.cutoff)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("stale claims at %s (-want +got):\n%s", c.cutoff, diff)
		}
	}
	if err := st.DropClaim(ctx, "wa", ids[0]); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.StaleClaims(ctx, "wa", t0.Add(time.Hour)); !cmp.Equal(got, []string{ids[1]}) {
		t.Errorf("stale claims after dropping one = %v", got)
	}
	active, err := st.ChannelActive(ctx, "wa")
	if err != nil || !active {
		t.Errorf("channel with a claim and a waiting conversation active = %v, %v", active, err)
	}
	if active, err := st.ChannelActive(ctx, "fb"); err != nil || active {
		t.Errorf("empty channel active = %v, %v", active, err)
	}
}

// Committing a LineJoin wakes the subscribers of line notices.
func TestLineNotices(t *testing.T) {
	r, st := openStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	notices := r.LineNotices(ctx)
	// The subscription is asynchronous: commit until a notice arrives.
	var got string
	waitFor(t, "a line notice", func() bool {
		rec, err := st.Load(ctx, queue.ConversationID("wa", "u1"))
		if err != nil {
			t.Fatal(err)
		}
		rec.State = routing.StateWaiting
		if err := st.Commit(ctx, &queue.Commit{Record: rec, Line: queue.LineJoin, Since: t0}); err != nil {
			t.Fatal(err)
		}
		select {
		case got = <-notices:
			return true
		case <-time.After(50 * time.Millisecond):
			return false
		}
	})
	if got != "wa" {
		t.Errorf("line notice = %q, want the channel wa", got)
	}
	cancel()
	for range notices { // closed once the context ends
	}
}
