package queue_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/queue"
	"switchboard/queue/redistest"
)

// recorder is a slog.Handler that keeps every record.
type recorder struct {
	mu    sync.Mutex
	lines []logLine
}

type logLine struct {
	Level      slog.Level
	Msg        string
	Component  string
	Suppressed int64
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *recorder) WithGroup(string) slog.Handler            { return r }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	l := logLine{Level: rec.Level, Msg: rec.Message}
	rec.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "component":
			l.Component = a.Value.String()
		case "suppressed":
			l.Suppressed = a.Value.Int64()
		}
		return true
	})
	r.mu.Lock()
	r.lines = append(r.lines, l)
	r.mu.Unlock()
	return nil
}

// of returns the lines of one component.
func (r *recorder) of(component string) []logLine {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []logLine
	for _, l := range r.lines {
		if l.Component == component {
			out = append(out, l)
		}
	}
	return out
}

// clock is a test clock that moves only when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// While Redis is down go-redis logs every failed dial; the gateway's log
// gets each line once per 10 s, then with the number of copies dropped.
// The client speaks to one server (srv.URL, a master of a cluster too), so
// that every failed dial logs the same line.
func TestRedisClientLogsAreRateLimited(t *testing.T) {
	srv := redistest.Start(t)
	rec, clk := &recorder{}, &clock{t: t0}
	r, err := queue.Open(context.Background(), queue.Options{URL: srv.URL, Prefix: "t:", Now: clk.Now, Logger: slog.New(rec)})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	srv.Stop()
	ctx := context.Background()
	const pings = 2
	for range pings {
		if err := r.Ping(ctx); err == nil {
			t.Fatal("ping answered with Redis stopped")
		}
	}
	lines := rec.of("go-redis")
	if len(lines) != 1 || !strings.Contains(lines[0].Msg, "dial") || lines[0].Level != slog.LevelWarn || lines[0].Suppressed != 0 {
		t.Fatalf("go-redis lines after %d failed pings = %+v, want one warning about dialing", pings, lines)
	}
	clk.Add(9 * time.Second)
	_ = r.Ping(ctx)
	if n := len(rec.of("go-redis")); n != 1 {
		t.Fatalf("%d go-redis lines within 10 s, want 1", n)
	}
	clk.Add(time.Second)
	_ = r.Ping(ctx)
	lines = rec.of("go-redis")
	if len(lines) != 2 || lines[1].Msg != lines[0].Msg || lines[1].Suppressed < pings {
		t.Fatalf("go-redis lines 10 s later = %+v, want the same line again with suppressed >= %d", lines, pings)
	}
}

// asynq's workers report every failed poll; the same limit applies. As
// above, the client speaks to one server.
func TestTaskLogsAreRateLimited(t *testing.T) {
	srv := redistest.Start(t)
	rec, clk := &recorder{}, &clock{t: t0}
	r, err := queue.Open(context.Background(), queue.Options{URL: srv.URL, Prefix: "t:", Now: clk.Now, Logger: slog.New(rec)})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	tasks := r.Tasks(queue.TaskConfig{Logger: slog.New(rec), ShutdownTimeout: time.Second})
	if err := tasks.Start(queue.Handlers{}); err != nil {
		t.Fatal(err)
	}
	defer tasks.Shutdown()
	srv.Stop()
	// Within 10 s by the test's clock each line is logged once, however
	// often asynq repeats it.
	var repeated string
	var dropped int
	waitFor(t, "asynq to repeat a line", func() bool {
		for msg, n := range tasks.DroppedLogs() {
			if n > 0 {
				repeated, dropped = msg, n
				return true
			}
		}
		return false
	})
	seen := map[string]bool{}
	for _, l := range rec.of("asynq") {
		if seen[l.Msg] {
			t.Errorf("asynq line logged twice within 10 s: %q", l.Msg)
		}
		seen[l.Msg] = true
	}
	if !seen[repeated] {
		t.Fatalf("the repeated line %q was never logged; lines: %+v", repeated, rec.of("asynq"))
	}
	// 10 s later its next copy is logged with the number dropped meanwhile.
	clk.Add(logWindow)
	waitFor(t, "the repeated line again with its count", func() bool {
		for _, l := range rec.of("asynq") {
			if l.Msg == repeated && l.Suppressed >= int64(dropped) {
				return true
			}
		}
		return false
	})
}

// logWindow is the logs' rate limit.
const logWindow = 10 * time.Second

// waitFor polls cond (what the code under test does in the background)
// until it holds, failing after 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling a background effect, not letting time pass
	}
}
