package queue_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"switchboard/queue"
)

func TestPresences(t *testing.T) {
	_, st := openStore(t)
	ctx := context.Background()
	steps := []struct {
		agent string
		p     queue.Presence
		at    time.Time
		prev  queue.Presence
	}{
		{"ana", queue.Online, t0, queue.Offline}, // never seen: offline
		{"ana", queue.Away, t0.Add(time.Minute), queue.Online},
		{"bruno", queue.Online, t0.Add(2 * time.Minute), queue.Offline},
		{"ana", queue.Online, t0.Add(3 * time.Minute), queue.Away},
	}
	for _, s := range steps {
		prev, err := st.SetPresence(ctx, s.agent, s.p, s.at)
		if err != nil || prev != s.prev {
			t.Fatalf("SetPresence(%s, %s) = %s, %v; want previous %s", s.agent, s.p, prev, err, s.prev)
		}
	}
	ps, since, err := st.Presences(ctx, []string{"ana", "bruno", "carla"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]queue.Presence{"ana": queue.Online, "bruno": queue.Online, "carla": queue.Offline}, ps); diff != "" {
		t.Errorf("presences (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]time.Time{"ana": t0.Add(3 * time.Minute), "bruno": t0.Add(2 * time.Minute), "carla": {}}, since); diff != "" {
		t.Errorf("since (-want +got):\n%s", diff)
	}
	if ps, since, err := st.Presences(ctx, nil); err != nil || len(ps) != 0 || len(since) != 0 {
		t.Errorf("presences of no agents = %v, %v, %v", ps, since, err)
	}
}

// Several gateway processes see the same opening; one announces it.
func TestMarkOpenedOncePerOpening(t *testing.T) {
	_, st := openStore(t)
	ctx := context.Background()
	steps := []struct {
		opening time.Time
		first   bool
	}{
		{t0, true},
		{t0, false},
		{t0.Add(24 * time.Hour), true},
		{t0.Add(24 * time.Hour), false},
	}
	for i, s := range steps {
		if first, err := st.MarkOpened(ctx, "wa", s.opening); err != nil || first != s.first {
			t.Errorf("step %d: MarkOpened = %v, %v; want %v", i, first, err, s.first)
		}
	}
}

// A commit adds its daily counts when it applies, and only then.
func TestDailyStats(t *testing.T) {
	_, st := openStore(t)
	ctx := context.Background()
	const day = "2026-11-20"
	commit := func(user, day string, d queue.Daily) *queue.Commit {
		t.Helper()
		rec, err := st.Load(ctx, queue.ConversationID("wa", user))
		if err != nil {
			t.Fatal(err)
		}
		c := &queue.Commit{Record: rec, Day: day, Daily: d}
		if err := st.Commit(ctx, c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	commit("u1", day, queue.Daily{})
	commit("u2", day, queue.Daily{Counts: map[string]int64{"transfers": 2, "declines": 1}, Waits: []time.Duration{3 * time.Second}})
	c := commit("u3", day, queue.Daily{Counts: map[string]int64{"transfers": 1}, Waits: []time.Duration{1500 * time.Millisecond}})
	commit("u4", "2026-11-21", queue.Daily{Counts: map[string]int64{"expiries": 9}})
	// The same commit again is refused (its version moved on): it counts nothing.
	c.Record.Version--
	if err := st.Commit(ctx, c); !errors.Is(err, queue.ErrConflict) {
		t.Fatalf("a commit of an old version = %v, want ErrConflict", err)
	}
	got, err := st.DailyStats(ctx, "wa", day)
	if err != nil {
		t.Fatal(err)
	}
	want := queue.Daily{Counts: map[string]int64{"transfers": 3, "declines": 1}, Waits: []time.Duration{3 * time.Second, 1500 * time.Millisecond}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("day's stats (-want +got):\n%s", diff)
	}
	if got, _ := st.DailyStats(ctx, "fb", day); len(got.Counts) != 0 || len(got.Waits) != 0 {
		t.Errorf("another channel's stats = %+v, want none", got)
	}
}
