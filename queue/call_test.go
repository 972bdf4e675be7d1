package queue_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"switchboard/channels"
	"switchboard/queue"
	"switchboard/routing"
)

// calling stores u1's conversation on wa, waiting for a call.
func calling(t *testing.T, st *queue.Store) string {
	t.Helper()
	ctx := context.Background()
	conv := queue.ConversationID("wa", "u1")
	rec, err := st.Load(ctx, conv)
	if err != nil {
		t.Fatal(err)
	}
	rec.State = routing.StateCalling
	if err := st.Commit(ctx, &queue.Commit{Record: rec}); err != nil {
		t.Fatal(err)
	}
	return conv
}

// A call request is queued once while pending; once it ran, the same
// request is an error, not a silent success; after an erasure the same key
// (routing starts it over) is a new request with a new id, and the erased
// conversation's tasks and marks are gone.
func TestCallTasksAcrossAnErasure(t *testing.T) {
	r, st := openStore(t)
	ctx := context.Background()
	conv := calling(t, st)
	tasks := r.Tasks(queue.TaskConfig{ShutdownTimeout: time.Second})
	job := queue.CallJob{Key: conv + "-call-1", Channel: "wa", Conversation: conv, Number: "+5511987654321", Name: "Ana"}
	for range 2 {
		if err := tasks.EnqueueCall(ctx, job, 3); err != nil {
			t.Fatalf("enqueue of a pending call = %v, want nil", err)
		}
	}
	calls := make(chan queue.CallJob, 10)
	if err := tasks.Start(queue.Handlers{
		Process: func(context.Context, string) error { return nil },
		Send:    func(context.Context, queue.SendJob, bool) error { return nil },
		Call: func(_ context.Context, j queue.CallJob, last bool) error {
			calls <- j
			if j.Key == conv+"-call-2" {
				return queue.Permanent(errors.New("provider refused"))
			}
			return nil
		},
	}); err != nil {
		t.Fatal(err)
	}
	defer tasks.Shutdown()
	first := receive(t, calls)
	if first.Key != job.Key || first.Number != job.Number || first.ID == "" || first.ID == job.Key {
		t.Fatalf("call task = %+v, want the job with an id of its own", first)
	}
	waitFor(t, "the call task to complete", func() bool {
		return errors.Is(tasks.EnqueueCall(ctx, job, 3), queue.ErrTaskFinished)
	})
	failing := job
	failing.Key = conv + "-call-2"
	if err := tasks.EnqueueCall(ctx, failing, 1); err != nil {
		t.Fatal(err)
	}
	receive(t, calls)
	waitFor(t, "the failed call task to be archived", func() bool {
		return errors.Is(tasks.EnqueueCall(ctx, failing, 1), queue.ErrTaskFinished)
	})

	// Erasure: the completed and archived call tasks, then the conversation.
	n, err := r.EraseTasks(ctx, conv)
	if err != nil || n != 2 {
		t.Fatalf("erase tasks = %d, %v; want the 2 call tasks", n, err)
	}
	if err := st.MarkCall(ctx, "wa", conv, job.Key, t0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Erase(ctx, "wa", "u1"); err != nil {
		t.Fatal(err)
	}
	if marks, _ := st.PendingCalls(ctx, "wa"); len(marks) != 0 {
		t.Errorf("call marks after the erasure = %+v", marks)
	}
	// A late request for the erased conversation would store the number again.
	if err := tasks.EnqueueCall(ctx, job, 3); !errors.Is(err, queue.ErrNotFound) {
		t.Fatalf("enqueue for an erased conversation = %v, want ErrNotFound", err)
	}

	// The user comes back and asks for a call: routing's key starts over.
	calling(t, st)
	if err := tasks.EnqueueCall(ctx, job, 3); err != nil {
		t.Fatalf("enqueue after the erasure = %v", err)
	}
	again := receive(t, calls)
	if again.Key != job.Key || again.ID == first.ID {
		t.Fatalf("call after the erasure = %+v, want the same key under a new id (was %s)", again, first.ID)
	}
}

func receive(t *testing.T, calls <-chan queue.CallJob) queue.CallJob {
	t.Helper()
	select {
	case j := <-calls:
		return j
	case <-time.After(20 * time.Second):
		t.Fatal("no call task ran")
		return queue.CallJob{}
	}
}

func TestEnqueueCallNeedsAConversation(t *testing.T) {
	r, _ := openStore(t)
	tasks := r.Tasks(queue.TaskConfig{})
	defer tasks.Shutdown()
	for _, conv := range []string{"not-a-conversation", queue.ConversationID("wa", "nobody")} {
		if err := tasks.EnqueueCall(context.Background(), queue.CallJob{Key: "k", Conversation: conv}, 1); !errors.Is(err, queue.ErrNotFound) {
			t.Errorf("enqueue for %q = %v, want ErrNotFound", conv, err)
		}
	}
}

// EraseTasks deletes a conversation's queued tasks of every kind and
// leaves the others' alone.
func TestEraseTasksOfEveryKind(t *testing.T) {
	r, st := openStore(t)
	ctx := context.Background()
	conv, other := calling(t, st), queue.ConversationID("wa", "u2")
	tasks := r.Tasks(queue.TaskConfig{})
	defer tasks.Shutdown()
	for _, c := range []string{conv, other} {
		if err := tasks.EnqueueProcess(ctx, c); err != nil {
			t.Fatal(err)
		}
		if err := tasks.EnqueueSend(ctx, queue.SendJob{ID: c + "-j1", Channel: "wa", Conversation: c,
			Parts: []queue.SendPart{{Entry: "m1", Message: channels.Outbound{Text: "hi"}}}}); err != nil {
			t.Fatal(err)
		}
		if err := tasks.EnqueueNotify(ctx, queue.NotifyJob{ID: c + "-n1", Channel: "wa", Conversation: c, Event: "conversation.waiting", Target: "webhook"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tasks.EnqueueCall(ctx, queue.CallJob{Key: conv + "-call-1", Channel: "wa", Conversation: conv, Number: "+1"}, 1); err != nil {
		t.Fatal(err)
	}
	if n, err := r.EraseTasks(ctx, conv); err != nil || n != 4 {
		t.Fatalf("erase tasks = %d, %v; want process, send, notify and call", n, err)
	}
	if n, err := r.EraseTasks(ctx, conv); err != nil || n != 0 {
		t.Fatalf("erase tasks again = %d, %v; want none left", n, err)
	}
	if n, err := r.EraseTasks(ctx, other); err != nil || n != 3 {
		t.Fatalf("erase tasks of the other conversation = %d, %v; want its 3 untouched", n, err)
	}
}
