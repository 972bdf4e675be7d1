package queue_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"switchboard/queue"
)

func TestDeadLettersBoundedNewestFirst(t *testing.T) {
	_, st := openStore(t)
	ctx := context.Background()
	conv := queue.ConversationID("wa", "u1")
	other := queue.ConversationID("wa", "u2")
	for i := range queue.MaxDeadLetters + 1 {
		d := queue.DeadLetter{Conversation: conv, EventHash: fmt.Sprint("e", i), Reason: "panic: boom", At: t0.Add(time.Duration(i) * time.Second)}
		if i == queue.MaxDeadLetters {
			d.Conversation = other
		}
		if err := st.AddDeadLetter(ctx, "wa", d); err != nil {
			t.Fatal(err)
		}
	}
	n, latest, err := st.DeadLetters(ctx, "wa", 2)
	if err != nil {
		t.Fatal(err)
	}
	if n != queue.MaxDeadLetters {
		t.Errorf("count = %d, want the bound %d", n, queue.MaxDeadLetters)
	}
	if len(latest) != 2 || latest[0].EventHash != fmt.Sprint("e", queue.MaxDeadLetters) || latest[1].EventHash != fmt.Sprint("e", queue.MaxDeadLetters-1) {
		t.Errorf("latest = %+v, want e%d then e%d", latest, queue.MaxDeadLetters, queue.MaxDeadLetters-1)
	}
	if !latest[0].At.Equal(t0.Add(queue.MaxDeadLetters*time.Second)) || latest[0].Reason != "panic: boom" {
		t.Errorf("latest[0] = %+v", latest[0])
	}
	if n, _, err := st.DeadLetters(ctx, "other", 5); err != nil || n != 0 {
		t.Errorf("another channel's count = %d, %v; want 0", n, err)
	}

	removed, err := st.EraseDeadLetters(ctx, conv)
	if err != nil || removed != queue.MaxDeadLetters-1 {
		t.Fatalf("EraseDeadLetters = %d, %v; want %d", removed, err, queue.MaxDeadLetters-1)
	}
	n, latest, err = st.DeadLetters(ctx, "wa", 10)
	if err != nil || n != 1 || len(latest) != 1 || latest[0].Conversation != other {
		t.Errorf("after erasure: %d %+v %v; want only the other conversation's entry", n, latest, err)
	}
}
