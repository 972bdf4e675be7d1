package queue_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"

	"switchboard/channels"
	"switchboard/queue"
	"switchboard/queue/redistest"
)

func TestTasksRunRetryAndSkipPermanentFailures(t *testing.T) {
	r, _ := openStore(t)
	tasks := r.Tasks(queue.TaskConfig{RetryBase: 10 * time.Millisecond, RetryMax: 20 * time.Millisecond, MaxSendAttempts: 5})

	var mu sync.Mutex
	attempts := map[string]int{}
	lastSeen := map[string]bool{}
	processed := make(chan string, 10)
	done := make(chan string, 10)
	err := tasks.Start(queue.Handlers{
		Process: func(ctx context.Context, conv string) error { processed <- conv; return nil },
		Send: func(ctx context.Context, job queue.SendJob, last bool) error {
			mu.Lock()
			attempts[job.ID]++
			n := attempts[job.ID]
			lastSeen[job.ID] = last
			mu.Unlock()
			switch job.ID {
			case "flaky": // fails twice with a retryable error, then works
				if n < 3 {
					return &channels.SendError{Retryable: true, HTTPStatus: 500}
				}
			case "permanent":
				done <- job.ID
				return queue.Permanent(&channels.SendError{Code: 131047})
			}
			done <- job.ID
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer tasks.Shutdown()
	ctx := context.Background()
	if err := tasks.EnqueueProcess(ctx, "c_wa_0123456789abcdef0123"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"flaky", "permanent", "flaky"} { // the second "flaky" is a duplicate enqueue
		if err := tasks.EnqueueSend(ctx, queue.SendJob{ID: id, Channel: "wa"}); err != nil {
			t.Fatal(err)
		}
	}
	timeout := time.After(20 * time.Second)
	for want := 3; want > 0; want-- {
		select {
		case <-processed:
		case <-done:
		case <-timeout:
			t.Fatalf("tasks did not finish: %v", attempts)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if attempts["flaky"] != 3 || attempts["permanent"] != 1 {
		t.Fatalf("attempts = %v, want flaky 3 (retried until success, enqueued once) and permanent 1", attempts)
	}
	if lastSeen["permanent"] {
		t.Fatal("first attempt reported as the last")
	}
}

func TestNotifyTasksRun(t *testing.T) {
	r, _ := openStore(t)
	tasks := r.Tasks(queue.TaskConfig{})
	got := make(chan queue.NotifyJob, 10)
	err := tasks.Start(queue.Handlers{
		Process: func(context.Context, string) error { return nil },
		Send:    func(context.Context, queue.SendJob, bool) error { return nil },
		Notify:  func(_ context.Context, j queue.NotifyJob) error { got <- j; return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer tasks.Shutdown()
	job := queue.NotifyJob{ID: "n1", Channel: "wa", Conversation: "c_wa_0123456789abcdef0123", Event: "conversation.waiting", Target: "webhook", At: t0}
	for range 2 {
		if err := tasks.EnqueueNotify(context.Background(), job); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case j := <-got:
		if diff := cmp.Diff(job, j); diff != "" {
			t.Errorf("notification (-want +got):\n%s", diff)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("notification not delivered")
	}
}

func TestPermanent(t *testing.T) {
	base := &channels.SendError{Code: 131047}
	err := queue.Permanent(base)
	var se *channels.SendError
	if !queue.IsPermanent(err) || !errors.As(err, &se) || se != base {
		t.Errorf("Permanent(%v) = %v: want permanent and still the send error", base, err)
	}
	if queue.IsPermanent(base) {
		t.Errorf("%v reported permanent", base)
	}
}

// Two deployments on one Redis, each with its own prefix, run only their
// own tasks: the queues carry the prefix (the default prefix keeps the
// bare names). B, one task at a time, runs its own tasks, which were
// queued after A's: had it A's queues, it would have run A's first.
func TestTaskQueuesCarryThePrefix(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	open := func(prefix string) *queue.Tasks {
		r, err := queue.Open(ctx, optionsFor(srv, queue.Options{Prefix: prefix}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r.Tasks(queue.TaskConfig{Concurrency: 1})
	}
	a, b, plain := open("a:"), open("b:"), open("")
	ran := func(tasks *queue.Tasks, got chan<- string) {
		t.Helper()
		err := tasks.Start(queue.Handlers{
			Process: func(_ context.Context, conv string) error { got <- conv; return nil },
			Send:    func(_ context.Context, job queue.SendJob, _ bool) error { got <- job.ID; return nil },
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(tasks.Shutdown)
	}
	enqueue := func(tasks *queue.Tasks, conv, job string) {
		t.Helper()
		if err := tasks.EnqueueProcess(ctx, conv); err != nil {
			t.Fatal(err)
		}
		if err := tasks.EnqueueSend(ctx, queue.SendJob{ID: job, Channel: "wa"}); err != nil {
			t.Fatal(err)
		}
	}
	enqueue(a, "c_wa_a", "job-a")
	enqueue(plain, "c_wa_plain", "job-plain")
	enqueue(b, "c_wa_b", "job-b")
	wait := func(got <-chan string, n int) []string {
		t.Helper()
		var out []string
		for range n {
			select {
			case id := <-got:
				out = append(out, id)
			case <-time.After(20 * time.Second):
				t.Fatalf("tasks run: %v, want %d", out, n)
			}
		}
		slices.Sort(out)
		return out
	}
	gotB := make(chan string, 10)
	ran(b, gotB)
	if diff := cmp.Diff([]string{"c_wa_b", "job-b"}, wait(gotB, 2)); diff != "" {
		t.Errorf("B's tasks (-want +got):\n%s", diff)
	}
	gotA := make(chan string, 10)
	ran(a, gotA)
	if diff := cmp.Diff([]string{"c_wa_a", "job-a"}, wait(gotA, 2)); diff != "" {
		t.Errorf("A's tasks (-want +got):\n%s", diff)
	}
	queues, err := asynq.NewInspectorFromRedisClient(srv.Client()).Queues()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(queues)
	if diff := cmp.Diff([]string{"a:inbound", "a:outbound", "b:inbound", "b:outbound", "inbound", "outbound"}, queues); diff != "" {
		t.Errorf("asynq's queues (-want +got):\n%s", diff)
	}
	select {
	case id := <-gotB:
		t.Errorf("B also ran %s", id)
	case id := <-gotA:
		t.Errorf("A also ran %s", id)
	default:
	}
}
