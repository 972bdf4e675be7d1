package queue

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"switchboard/channels"
	"switchboard/queue/redistest"
	"switchboard/routing"
)

// pipelineLog counts the pipelines with a script a client sends (not
// those of a new connection's handshake) and their sizes, and can hold
// them until a condition is true.
type pipelineLog struct {
	mu    sync.Mutex
	sizes []int
	// others counts the pipelines of other commands.
	others int
	// hold, when set, is polled before the n-th pipeline with a script
	// (from 0) goes out, until it returns true.
	hold func(n int) bool
}

func (l *pipelineLog) DialHook(next redis.DialHook) redis.DialHook { return next }
func (l *pipelineLog) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return next
}
func (l *pipelineLog) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		switch cmds[0].Name() {
		case "hello", "client", "auth", "select": // a connection's handshake
			return next(ctx, cmds)
		}
		if !slices.ContainsFunc(cmds, func(c redis.Cmder) bool { return c.Name() == "evalsha" || c.Name() == "eval" }) {
			l.mu.Lock()
			l.others++
			l.mu.Unlock()
			return next(ctx, cmds)
		}
		l.mu.Lock()
		n := len(l.sizes)
		l.sizes = append(l.sizes, len(cmds))
		l.mu.Unlock()
		for l.hold != nil && !l.hold(n) {
			time.Sleep(time.Millisecond)
		}
		return next(ctx, cmds)
	}
}

func (l *pipelineLog) pipelines() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int(nil), l.sizes...)
}

// batchedStore is a Store whose batcher sends at most inFlight pipelines
// at once, on a client that logs them.
func batchedStore(t *testing.T, inFlight int) (*Store, *pipelineLog) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	log := &pipelineLog{}
	rdb.AddHook(log)
	return &Store{rdb: rdb, batch: newBatcher(rdb, inFlight), keys: keys{prefix: "t:"}}, log
}

// queuedCalls is how many calls wait for a pipeline.
func (b *batcher) queuedCalls() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.queued)
}

// idle reports whether no pipeline is out and no call waits.
func (b *batcher) idle() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.running == 0 && len(b.queued) == 0
}

var echoScript = redis.NewScript(`redis.call('SET', KEYS[1], ARGV[1]) return ARGV[1]`)

// Calls made while every pipeline is out go out together in the next one,
// and each caller gets its own answer.
func TestBatcherSendsWaitingCallsTogether(t *testing.T) {
	st, log := batchedStore(t, 1)
	ctx := context.Background()
	if err := echoScript.Load(ctx, st.rdb).Err(); err != nil {
		t.Fatal(err)
	}
	const callers = 50
	log.hold = func(n int) bool { return n > 0 || st.batch.queuedCalls() == callers-1 }
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			want := fmt.Sprint("value ", i)
			got, err := st.evalBatched(ctx, echoScript, []string{fmt.Sprintf("t:{c}:k%d", i)}, want).Text()
			if err != nil || got != want {
				errs <- fmt.Errorf("caller %d got %q, %v; want %q", i, got, err, want)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := log.pipelines(); len(got) != 2 || got[0] != 1 || got[1] != callers-1 {
		t.Errorf("pipelines of %v commands, want [1 %d]: the first call alone, the rest together", got, callers-1)
	}
}

// At most inFlight pipelines are out at once: calls made while they are
// out wait, and go out together in the next one.
func TestBatcherKeepsInFlightPipelinesOut(t *testing.T) {
	const inFlight, waiting = pipelinesInFlight, 10
	st, log := batchedStore(t, inFlight)
	ctx := context.Background()
	if err := echoScript.Load(ctx, st.rdb).Err(); err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	log.hold = func(n int) bool {
		select {
		case <-released:
			return true
		default:
			return n >= inFlight
		}
	}
	var wg sync.WaitGroup
	call := func(i int) {
		defer wg.Done()
		if err := st.evalBatched(ctx, echoScript, []string{fmt.Sprintf("t:{c}:k%d", i)}, "v").Err(); err != nil {
			t.Errorf("call %d: %v", i, err)
		}
	}
	for i := range inFlight {
		wg.Add(1)
		go call(i)
	}
	for len(log.pipelines()) < inFlight {
		time.Sleep(time.Millisecond)
	}
	for i := range waiting {
		wg.Add(1)
		go call(inFlight + i)
	}
	// Until they all queue, or one more pipeline goes out.
	for st.batch.queuedCalls() < waiting && len(log.pipelines()) == inFlight {
		time.Sleep(time.Millisecond)
	}
	if got := log.pipelines(); len(got) != inFlight {
		t.Errorf("pipelines of %v commands out while %d were held, want %d", got, inFlight, inFlight)
	}
	close(released)
	wg.Wait()
	want := append(slices.Repeat([]int{1}, inFlight), waiting)
	if got := log.pipelines(); !slices.Equal(got, want) {
		t.Errorf("pipelines of %v commands, want %v: the held ones, then every waiting call in one", got, want)
	}
}

// A caller whose context ends while it waits for a pipeline gets its
// context's error, and its commands are not sent.
func TestBatcherLeavesOutAGoneCaller(t *testing.T) {
	st, log := batchedStore(t, 1)
	ctx := context.Background()
	gone, cancel := context.WithCancel(ctx)
	released := make(chan struct{})
	log.hold = func(n int) bool {
		if n > 0 {
			return true
		}
		select {
		case <-released:
			return true
		default:
			return false
		}
	}
	first := make(chan error, 1)
	go func() { first <- st.evalBatched(ctx, echoScript, []string{"t:{c}:first"}, "1").Err() }()
	for len(log.pipelines()) == 0 {
		time.Sleep(time.Millisecond)
	}
	second := make(chan error, 1)
	go func() { second <- st.evalBatched(gone, echoScript, []string{"t:{c}:gone"}, "2").Err() }()
	for st.batch.queuedCalls() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-second; !errors.Is(err, context.Canceled) {
		t.Errorf("the gone caller's error = %v, want context.Canceled", err)
	}
	close(released)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	// The queued call was taken for the next pipeline, and left out.
	for !st.batch.idle() {
		time.Sleep(time.Millisecond)
	}
	if got := log.pipelines(); len(got) != 1 {
		t.Errorf("pipelines of %v commands, want only the first call's", got)
	}
	if n, err := st.rdb.Exists(ctx, "t:{c}:gone").Result(); err != nil || n != 0 {
		t.Errorf("the gone caller's key: exists %d, %v; want not written", n, err)
	}
}

// A script the server does not know (flushed, or a new master) is loaded
// and run.
func TestBatcherLoadsAScriptTheServerLost(t *testing.T) {
	st, _ := batchedStore(t, 2)
	ctx := context.Background()
	if err := st.rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := st.evalBatched(ctx, echoScript, []string{"t:{c}:k"}, "v").Text(); err != nil || got != "v" {
		t.Fatalf("after SCRIPT FLUSH: %q, %v; want v", got, err)
	}
	if got, err := st.rdb.Get(ctx, "t:{c}:k").Result(); err != nil || got != "v" {
		t.Errorf("key = %q, %v; want v", got, err)
	}
}

// Redis gone: every caller gets an error that says so, and the calls that
// waited for a pipeline that found Redis unreachable fail with it, without
// a pipeline of their own (each would wait for its own failure in turn).
func TestBatcherRedisDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second, DialerRetries: 1})
	t.Cleanup(func() { rdb.Close() })
	log := &pipelineLog{}
	rdb.AddHook(log)
	st := &Store{rdb: rdb, batch: newBatcher(rdb, 1)}
	const callers = 5
	log.hold = func(n int) bool { return n > 0 || st.batch.queuedCalls() == callers-1 }
	var wg sync.WaitGroup
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := unavailable(st.evalBatched(context.Background(), echoScript, []string{"k"}, "v").Err()); !errors.Is(err, ErrUnavailable) {
				t.Errorf("error %v, want one wrapping ErrUnavailable", err)
			}
		}()
	}
	wg.Wait()
	if got := log.pipelines(); len(got) != 1 {
		t.Errorf("pipelines of %v commands, want only the first call's", got)
	}
	if !st.batch.idle() {
		t.Error("the batcher is not idle after the failures")
	}
}

// A pipeline whose connection cannot be made (a Redis host that drops
// packets: the dial hangs) fails at its own deadline, whatever its
// callers' deadlines, and says Redis is unavailable.
func TestBatcherPipelineTimeout(t *testing.T) {
	ended := make(chan struct{})
	hang := func(ctx context.Context, _, _ string) (net.Conn, error) {
		select { // go-redis goes on dialling after the pipeline gave up
		case <-ctx.Done():
		case <-ended:
		}
		return nil, errors.New("no answer")
	}
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", Dialer: hang, DialTimeout: time.Minute})
	t.Cleanup(func() { close(ended); rdb.Close() })
	st := &Store{rdb: rdb, batch: newBatcher(rdb, 1)}
	st.batch.timeout = 100 * time.Millisecond
	start := time.Now()
	err := st.evalBatched(context.Background(), echoScript, []string{"k"}, "v").Err()
	if took := time.Since(start); !errors.Is(unavailable(err), ErrUnavailable) || took > 5*time.Second {
		t.Errorf("with a dial that hangs: %v after %s; want unavailable after about 100 ms", err, took)
	}
}

// A claim across an agent's lines, with its capacity check, is one
// script in one round trip; on a Cluster, whose lines are in different
// slots, the heads and the held count take a round trip first.
func TestClaimOldestIsOneRoundTrip(t *testing.T) {
	st, log := batchedStore(t, pipelinesInFlight)
	ctx := context.Background()
	for i, ch := range []string{"wa", "fb"} {
		if err := st.rdb.ZAdd(ctx, st.keys.line(ch), redis.Z{Score: float64(2 - i), Member: "c_" + ch}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	c := Claimer{Agent: "ana", Channels: []string{"wa", "fb", "ig"}, Max: 2, Held: []string{"wa", "fb", "ig"}}
	w, ok, err := st.ClaimOldest(ctx, c, time.UnixMilli(10))
	if err != nil || !ok || w.Conversation != "c_fb" {
		t.Fatalf("claim = %+v, %v, %v; want c_fb, the oldest", w, ok, err)
	}
	others := 0
	if _, cluster := st.rdb.(*redis.ClusterClient); cluster {
		others = 1
	}
	if got := log.pipelines(); len(got) != 1 || got[0] != 1 || log.others != others {
		t.Errorf("script pipelines %v and %d others; want one script alone and %d others", got, log.others, others)
	}
}

// A commit that notes an agent's activity is one round trip: the
// activity's HSET rides in the commit script's pipeline.
func TestCommitWithActivityIsOneRoundTrip(t *testing.T) {
	st, log := batchedStore(t, pipelinesInFlight)
	ctx := context.Background()
	rec := &Record{Conversation: routing.Conversation{ID: ConversationID("wa", "u1"), Channel: "wa", Platform: channels.WhatsApp, State: routing.StateBot}}
	c := &Commit{Record: rec, Touch: []Activity{{Agent: "ana", At: time.UnixMilli(10)}}}
	if err := st.Commit(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got := log.pipelines(); len(got) != 1 || got[0] != 2 || log.others != 0 {
		t.Errorf("script pipelines %v and %d others; want one of two commands (the script and the activity)", got, log.others)
	}
	if at, err := st.rdb.HGet(ctx, st.keys.agentActivity(), "ana").Result(); err != nil || at != "10" {
		t.Errorf("activity = %q, %v; want 10", at, err)
	}
}
