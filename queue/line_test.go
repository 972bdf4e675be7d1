package queue_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"switchboard/queue"
	"switchboard/routing"
)

func TestHeadsAndLengths(t *testing.T) {
	_, st := openStore(t)
	ctx := context.Background()
	wa := join(t, st, "wa", 3)
	fb := join(t, st, "fb", 1)
	heads, err := st.Heads(ctx, []string{"wa", "fb", "ig"})
	if err != nil {
		t.Fatal(err)
	}
	want := []queue.Waiting{{Conversation: wa[0], Channel: "wa", Since: t0}, {Conversation: fb[0], Channel: "fb", Since: t0}}
	if diff := cmp.Diff(want, heads); diff != "" {
		t.Errorf("heads (-want +got):\n%s", diff)
	}
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
