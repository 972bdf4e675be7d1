package queue_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"switchboard/channels"
	"switchboard/queue"
	"switchboard/queue/redistest"
)

// serverError is an error as Redis answers it (go-redis' own type is
// internal).
type serverError string

func (e serverError) Error() string { return string(e) }
func (serverError) RedisError()     {}

func TestIsUnavailable(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"wrapped ErrUnavailable", fmt.Errorf("conversation c: %w", queue.ErrUnavailable), true},
		{"connection refused", refused, true},
		{"connection refused, wrapped", fmt.Errorf("enqueue: %w", refused), true},
		{"connection closed", io.EOF, true},
		{"cut reply", io.ErrUnexpectedEOF, true},
		{"timeout", context.DeadlineExceeded, true},
		{"pool timeout", redis.ErrPoolTimeout, true},
		{"client closed", redis.ErrClosed, true},
		{"loading", serverError("LOADING Redis is loading the dataset in memory"), true},
		{"busy script", serverError("BUSY Redis is busy running a script"), true},
		{"cluster down", serverError("CLUSTERDOWN The cluster is down"), true},
		{"master down", serverError("MASTERDOWN Link with MASTER is down"), true},
		{"slot moved", serverError("MOVED 3999 127.0.0.1:6381"), true},
		{"slot migrating", serverError("ASK 3999 127.0.0.1:6381"), true},
		{"try again", serverError("TRYAGAIN Multiple keys request during rehashing of slot"), true},
		{"read-only replica", serverError("READONLY You can't write against a read only replica."), true},
		{"out of memory", serverError("OOM command not allowed when used memory > 'maxmemory'."), true},
		{"cannot persist", serverError("MISCONF Redis is configured to save RDB snapshots"), true},
		{"invalid expire time", serverError("ERR invalid expire time in 'set' command"), false},
		{"script error", serverError("ERR user_script:1: Script attempted to access nonexistent global variable"), false},
		{"wrong type", serverError("WRONGTYPE Operation against a key holding the wrong kind of value"), false},
		{"cancelled", context.Canceled, false},
		{"plain error", errors.New("payload too large"), false},
		{"missing key", redis.Nil, false},
	}
	for _, c := range cases {
		if got := queue.IsUnavailable(c.err); got != c.want {
			t.Errorf("%s: IsUnavailable(%v) = %v, want %v", c.name, c.err, got, c.want)
		}
	}
}

// A command Redis rejects is an error of its own; an unreachable Redis
// wraps ErrUnavailable. Both against the Redis the tests run on.
func TestCommandErrorIsNotUnavailable(t *testing.T) {
	srv := redistest.Start(t)
	r, err := queue.Open(context.Background(), optionsFor(srv, queue.Options{Prefix: "t:"}))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	st := r.Store()
	ctx := context.Background()
	conv := queue.ConversationID("wa", "u1")
	ev := &channels.Event{ID: "wamid.1", Channel: "wa", User: channels.User{ID: "u1"}, Kind: channels.KindText, Timestamp: t0}

	// A dedupe TTL of 0 is an invalid expire time: Redis answers, with an error.
	_, err = st.Accept(ctx, ev, conv, 0, t0)
	if err == nil || queue.IsUnavailable(err) || errors.Is(err, queue.ErrUnavailable) {
		t.Fatalf("accept with TTL 0 = %v, want a command error that is not ErrUnavailable", err)
	}

	srv.Stop()
	_, err = st.Accept(ctx, ev, conv, time.Hour, t0)
	if !queue.IsUnavailable(err) || !errors.Is(err, queue.ErrUnavailable) {
		t.Fatalf("accept with Redis down = %v, want ErrUnavailable", err)
	}
	if err := r.Ping(ctx); !errors.Is(err, queue.ErrUnavailable) {
		t.Fatalf("ping with Redis down = %v, want ErrUnavailable", err)
	}
}
