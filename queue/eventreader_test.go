package queue_test

import (
	"context"
	"testing"
	"time"

	"switchboard/queue"
	"switchboard/routing"
)

func TestReadStream(t *testing.T) {
	r, st := openStore(t)
	ctx := context.Background()
	side := r.Side(2)
	defer side.Close()

	if got, err := st.ReadStream(ctx, "wa-main", "0-0", -1, 10); err != nil || len(got) != 0 {
		t.Fatalf("ReadStream of an empty stream = %v, %v; want nothing", got, err)
	}
	publish := func(conv string) {
		t.Helper()
		if err := st.Publish(ctx, queue.Notice{Type: routing.NoticeWaiting, Channel: "wa-main", Conversation: conv, At: t0}); err != nil {
			t.Fatal(err)
		}
	}
	publish("c1")
	publish("c2")
	publish("c3")
	if err := st.Publish(ctx, queue.Notice{Type: routing.NoticeWaiting, Channel: "fb-page", Conversation: "other", At: t0}); err != nil {
		t.Fatal(err)
	}

	// Non-blocking, paged by count, one channel only.
	first, err := st.ReadStream(ctx, "wa-main", "0-0", -1, 2)
	if err != nil || len(first) != 2 || first[0].Conversation != "c1" || first[1].Conversation != "c2" {
		t.Fatalf("first page = %+v, %v; want c1, c2", first, err)
	}
	rest, err := side.Store().ReadStream(ctx, "wa-main", first[1].ID, -1, 2)
	if err != nil || len(rest) != 1 || rest[0].Conversation != "c3" {
		t.Fatalf("after %s = %+v, %v; want c3", first[1].ID, rest, err)
	}
	if !queue.EventAfter(rest[0].ID, first[1].ID) || queue.EventAfter(first[0].ID, first[1].ID) {
		t.Errorf("EventAfter does not follow the stream order %s < %s < %s", first[0].ID, first[1].ID, rest[0].ID)
	}

	// Blocking on the side client: woken by a notice published meanwhile.
	got := make(chan []queue.Notice, 1)
	go func() {
		n, err := side.Store().ReadStream(ctx, "wa-main", rest[0].ID, 10*time.Second, 10)
		if err != nil {
			t.Error(err)
		}
		got <- n
	}()
	publish("c4")
	if n := <-got; len(n) != 1 || n[0].Conversation != "c4" {
		t.Errorf("blocking read = %+v, want c4", n)
	}

	// Closing the side client leaves the shared one open.
	if err := side.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Ping(ctx); err != nil {
		t.Errorf("Ping after closing a side client: %v", err)
	}
}

func TestEventAfter(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"2-0", "1-9", true},
		{"10-0", "9-0", true}, // numeric, not lexical
		{"5-10", "5-9", true},
		{"5-1", "5-1", false},
		{"5-1", "5-2", false},
		{"1-0", "0-0", true},
		{"1-0", "junk", true},
		{"junk", "0-0", false},
		{"", "", false},
	} {
		if got := queue.EventAfter(c.a, c.b); got != c.want {
			t.Errorf("EventAfter(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}
