package queue_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"switchboard/queue"
)

func TestMissedList(t *testing.T) {
	_, st := openStore(t)
	ctx := context.Background()
	base := time.Date(2026, 11, 22, 22, 0, 0, 0, time.UTC)
	// e and d expired at the same instant: the cursor must still page past
	// each exactly once.
	at := map[string]time.Time{"a": base, "b": base.Add(time.Hour), "c": base.Add(2 * time.Hour), "d": base.Add(3 * time.Hour), "e": base.Add(3 * time.Hour)}
	for id, t0 := range at {
		if err := st.AddMissed(ctx, "wa", id, t0); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.AddMissed(ctx, "fb", "x", base); err != nil {
		t.Fatal(err)
	}
	var got []string
	cursor, pages := "", 0
	for {
		page, next, err := st.ListMissed(ctx, "wa", base.Add(-time.Hour), cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page {
			if !m.At.Equal(at[m.Conversation]) {
				t.Errorf("%s at %v, want %v", m.Conversation, m.At, at[m.Conversation])
			}
			got = append(got, m.Conversation)
		}
		pages++
		if next == "" {
			break
		}
		cursor = next
	}
	if diff := cmp.Diff([]string{"e", "d", "c", "b", "a"}, got); diff != "" || pages != 3 {
		t.Errorf("pages %d, newest first (-want +got):\n%s", pages, diff)
	}

	// What expired before the cutoff is dropped by the read itself.
	page, _, err := st.ListMissed(ctx, "wa", base.Add(90*time.Minute), "", 10)
	if err != nil || len(page) != 3 {
		t.Fatalf("after the keep: %+v, %v", page, err)
	}
	if err := st.RemoveMissed(ctx, "wa", "d"); err != nil {
		t.Fatal(err)
	}
	if n, err := st.PruneMissed(ctx, "wa", base.Add(150*time.Minute)); err != nil || n != 1 {
		t.Errorf("pruned %d, %v; want c", n, err)
	}
	page, _, _ = st.ListMissed(ctx, "wa", base, "", 10)
	if len(page) != 1 || page[0].Conversation != "e" {
		t.Errorf("left %+v, want e", page)
	}
	if page, _, _ := st.ListMissed(ctx, "fb", base, "", 10); len(page) != 1 {
		t.Errorf("another channel's list changed: %+v", page)
	}
	if _, _, err := st.ListMissed(ctx, "wa", base, "nonsense", 10); !errors.Is(err, queue.ErrMissedCursor) {
		t.Errorf("bad cursor: %v", err)
	}
	if _, _, err := st.ListMissed(ctx, "wa", base, "", 0); err == nil {
		t.Error("a page of 0 accepted")
	}
}
