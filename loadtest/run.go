package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"switchboard/internal/testkit"
)

// RunOptions describe one load: who sends what, how fast and for how long.
type RunOptions struct {
	Targets     []string      // base URLs of the gateway(s), e.g. http://127.0.0.1:8080; deliveries alternate
	Users       int           // simulated users, spread over the channels (default 1000)
	Rate        float64       // webhooks per second; 0: as fast as Concurrency allows
	Concurrency int           // requests in flight at most, one connection each (default 64)
	Duration    time.Duration // stop sending after this long (default 10s unless Count is set)
	Count       int           // stop sending after this many webhooks (0: no count limit)
	Text        string        // the message text; must not be a handoff keyword (default "hello from the load test")
	Replay      time.Duration // after the load, resend every delivery not answered 200 for up to this long (as Meta retries)
	Drain       time.Duration // then wait up to this long for every reply to reach the fake Graph API
	Settle      time.Duration // then wait this long more for late duplicates
	Run         int           // run number in user ids; default random, so runs never share conversations
	Progress    io.Writer     // a line per second; default os.Stderr
	RSS         *RSS          // optional: the gateway's memory, shown in progress lines
	Label       string        // names the run in the report
	// SentAgainAllowed is how many replies may repeat an earlier reply's
	// message (Check.SentAgain): 0 unless the run kills the gateway, which
	// then cannot know whether the platform got the sends it had in flight.
	SentAgainAllowed int
}

func (o *RunOptions) defaults() {
	if o.Users <= 0 {
		o.Users = 1000
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 64
	}
	if o.Duration <= 0 && o.Count <= 0 {
		o.Duration = 10 * time.Second
	}
	if o.Duration <= 0 {
		o.Duration = time.Hour // Count bounds it
	}
	if o.Text == "" {
		o.Text = "hello from the load test"
	}
	if o.Run == 0 {
		o.Run = 1 + rand.IntN(99998)
	}
	if o.Progress == nil {
		o.Progress = os.Stderr
	}
}

// Result is what one load measured.
type Result struct {
	Label     string
	Start     time.Time // the first request
	Sent      int64     // requests made in the load phase
	OK        int64     // of which answered 200
	Elapsed   time.Duration
	Accept    Histogram      // latency of every request of the load phase, whatever its answer
	Statuses  map[string]int // "200", "503", "conn_error", ... over the load phase
	Replayed  int            // deliveries resent after the load
	Unsent    int            // deliveries never answered 200, even after replays
	EndToEnd  Histogram      // request start to the reply at the fake Graph API
	Replies   int64          // sends the fake Graph API got for this run's users
	Expected  int64          // deliveries answered 200 at least once
	LastReply time.Time      // the last reply's arrival at the fake Graph API
	Check     *Check         // exactly-once check, when a fake Graph API ran
}

// Check is the exactly-once verdict of a run. A reply that carries the
// gateway's id of an earlier reply to the same user (its Ref) is the same
// message sent again: SentAgain counts those apart from Duplicated, which
// counts users with more distinct replies than deliveries (an event
// handled twice).
type Check struct {
	Users, Lost, Duplicated int
	SentAgain, Allowed      int // Allowed: RunOptions.SentAgainAllowed
	Examples                []string
}

// OK reports whether nothing was lost or duplicated, and no more replies
// were sent again than allowed.
func (c *Check) OK() bool { return c.Lost == 0 && c.Duplicated == 0 && c.SentAgain <= c.Allowed }

// String is the check's figures, as the report prints them.
func (c *Check) String() string {
	s := fmt.Sprintf("users %d, lost %d, duplicated %d", c.Users, c.Lost, c.Duplicated)
	if c.SentAgain > 0 || c.Allowed > 0 {
		s += fmt.Sprintf(", the same reply sent again %d (at most %d allowed)", c.SentAgain, c.Allowed)
	}
	return s
}

// record is what happened to one delivery.
type record struct {
	start   time.Time // first request
	status  string    // last answer
	ok      bool      // answered 200 at least once
	replay  bool      // first 200 came from a replay
	attempt int
}

// Runner drives one load against one set of targets.
type Runner struct {
	opts   RunOptions
	chans  []Channel
	graph  *testkit.Graph // nil: no end-to-end measurement (the floor)
	client *http.Client

	mu   sync.Mutex
	recs map[int]*record // by global sequence number
}

// NewRunner prepares a load of chans' webhooks. graph may be nil.
func NewRunner(opts RunOptions, chans []Channel, graph *testkit.Graph) (*Runner, error) {
	opts.defaults()
	for _, t := range opts.Targets {
		if err := CheckLoopbackURL(t); err != nil {
			return nil, err
		}
	}
	if len(opts.Targets) == 0 || len(chans) == 0 {
		return nil, errors.New("a target and a channel are required")
	}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		MaxIdleConns:        opts.Concurrency * 2,
		MaxIdleConnsPerHost: opts.Concurrency,
		MaxConnsPerHost:     opts.Concurrency,
		IdleConnTimeout:     30 * time.Second,
	}
	return &Runner{opts: opts, chans: chans, graph: graph, recs: map[int]*record{},
		client: &http.Client{Transport: tr, Timeout: 10 * time.Second}}, nil
}

// delivery k: users take turns, so a user's messages are Users apart.
func (r *Runner) delivery(k int, now time.Time) delivery {
	u := k % r.opts.Users
	return newDelivery(r.chans[u%len(r.chans)], r.opts.Run, u, k/r.opts.Users+1, r.opts.Text, now)
}

func (r *Runner) uid(u int) string {
	return userID(r.chans[u%len(r.chans)].Platform, r.opts.Run, u)
}

// post sends one delivery and classifies the answer.
func (r *Runner) post(ctx context.Context, target string, d delivery) string {
	req, err := d.webhook.Request(ctx, target)
	if err != nil {
		return "bad_request"
	}
	resp, err := r.client.Do(req)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return "timeout"
		}
		return "conn_error"
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return strconv.Itoa(resp.StatusCode)
}

// Run sends the load, replays what failed, waits for the replies and
// checks them. It stops by itself: the load is bounded by Count and
// Duration, replays by Replay, the wait by Drain.
func (r *Runner) Run(ctx context.Context) *Result {
	o := r.opts
	res := &Result{Label: o.Label, Statuses: map[string]int{}}
	defer r.client.CloseIdleConnections()
	var sent, ok atomic.Int64
	count := o.Count
	if count <= 0 {
		count = int(^uint(0) >> 1)
	}
	start := time.Now()
	res.Start = start
	deadline := start.Add(o.Duration)
	loadCtx, cancel := context.WithDeadline(ctx, deadline.Add(10*time.Second))
	defer cancel()

	// next hands out sequence numbers, paced when a rate is set.
	var nextSeq atomic.Int64
	next := func() (int, bool) {
		k := int(nextSeq.Add(1) - 1)
		if k >= count || loadCtx.Err() != nil {
			return 0, false
		}
		if o.Rate > 0 {
			due := start.Add(time.Duration(float64(k) / o.Rate * float64(time.Second)))
			if due.After(deadline) {
				return 0, false
			}
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
		} else if time.Now().After(deadline) {
			return 0, false
		}
		return k, true
	}

	hists := make([]Histogram, o.Concurrency)
	statuses := make([]map[string]int, o.Concurrency)
	var wg sync.WaitGroup
	for w := range o.Concurrency {
		statuses[w] = map[string]int{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k, more := next()
				if !more {
					return
				}
				t0 := time.Now()
				d := r.delivery(k, t0)
				st := r.post(loadCtx, o.Targets[k%len(o.Targets)], d)
				hists[w].Record(time.Since(t0))
				statuses[w][st]++
				sent.Add(1)
				rec := &record{start: t0, status: st, ok: st == "200", attempt: 1}
				if rec.ok {
					ok.Add(1)
				}
				r.mu.Lock()
				r.recs[k] = rec
				r.mu.Unlock()
			}
		}()
	}
	stopProgress := r.progress("load", func() string {
		return fmt.Sprintf("sent=%d ok=%d", sent.Load(), ok.Load())
	}, &sent)
	wg.Wait()
	res.Elapsed = time.Since(start)
	stopProgress()
	for w := range hists {
		res.Accept.Merge(&hists[w])
		for k, v := range statuses[w] {
			res.Statuses[k] += v
		}
	}
	res.Sent, res.OK = sent.Load(), ok.Load()

	if o.Replay > 0 {
		res.Replayed, res.Unsent = r.replay(ctx, o.Replay)
	} else {
		for _, rec := range r.recs {
			if !rec.ok {
				res.Unsent++
			}
		}
	}
	for _, rec := range r.recs {
		if rec.ok {
			res.Expected++
		}
	}
	if r.graph != nil {
		r.drain(ctx, res)
		r.check(res)
	}
	return res
}

// replay resends every delivery not yet answered 200, in rounds, for up to
// limit, as Meta does; it returns how many were resent and how many never
// got a 200.
func (r *Runner) replay(ctx context.Context, limit time.Duration) (replayed, unsent int) {
	deadline := time.Now().Add(limit)
	resent := map[int]bool{}
	for round := 0; ; round++ {
		var todo []int
		for k, rec := range r.recs {
			if !rec.ok {
				todo = append(todo, k)
			}
		}
		if len(todo) == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			return len(resent), len(todo)
		}
		slices.Sort(todo)
		fmt.Fprintf(r.opts.Progress, "replay round %d: %d deliveries not answered 200\n", round+1, len(todo))
		sem := make(chan struct{}, min(r.opts.Concurrency, 16))
		var wg sync.WaitGroup
		for _, k := range todo {
			rec := r.recs[k]
			resent[k] = true
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				// The same body and signature as the first time, as Meta redelivers.
				d := r.delivery(k, rec.start)
				rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				st := r.post(rctx, r.opts.Targets[(k+rec.attempt)%len(r.opts.Targets)], d)
				cancel()
				r.mu.Lock()
				rec.attempt++
				rec.status = st
				if st == "200" {
					rec.ok, rec.replay = true, true
				}
				r.mu.Unlock()
			}()
		}
		wg.Wait()
		time.Sleep(500 * time.Millisecond) // between rounds, so a gateway coming back has a moment
	}
}

// drain waits until the fake Graph API has a reply for every delivery
// answered 200, or until Drain passes, then Settle more for late duplicates.
func (r *Runner) drain(ctx context.Context, res *Result) {
	deadline := time.Now().Add(r.opts.Drain)
	stop := r.progress("drain", func() string {
		return fmt.Sprintf("replies=%d/%d", r.graph.Total(), res.Expected)
	}, nil)
	for r.graph.Total() < res.Expected && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	if r.opts.Settle > 0 {
		time.Sleep(r.opts.Settle)
	}
}

// check matches the replies to the deliveries, user by user. Each user
// message yields exactly one send to that user (the keywords bot answers
// every message once), so a user must get exactly as many sends as it has
// deliveries answered 200; a delivery never answered 200 may or may not
// have been stored, so it widens the allowed range by one. End-to-end
// latency pairs a user's request times with its reply times, both sorted.
func (r *Runner) check(res *Result) {
	type userRecs struct {
		starts  []time.Time
		ok, all int
		clean   bool
	}
	users := make([]userRecs, r.opts.Users)
	for i := range users {
		users[i].clean = true
	}
	for k, rec := range r.recs {
		u := &users[k%r.opts.Users]
		u.all++
		if rec.ok {
			u.ok++
		}
		if rec.ok && !rec.replay {
			u.starts = append(u.starts, rec.start)
		} else {
			u.clean = false
		}
	}
	c := &Check{Allowed: r.opts.SentAgainAllowed}
	for i := range users {
		u := &users[i]
		if u.all == 0 {
			continue
		}
		c.Users++
		sends := r.graph.Arrivals(r.uid(i))
		again := r.graph.SentAgain(r.uid(i))
		res.Replies += int64(len(sends))
		for _, at := range sends {
			if at.After(res.LastReply) {
				res.LastReply = at
			}
		}
		c.SentAgain += again
		if again > 0 {
			c.example(fmt.Sprintf("user %s: %d replies, %d of them the same message sent again", r.uid(i), len(sends), again))
		}
		switch distinct := len(sends) - again; {
		case distinct < u.ok:
			c.Lost++
			c.example(fmt.Sprintf("user %s: %d deliveries answered 200, %d distinct replies", r.uid(i), u.ok, distinct))
		case distinct > u.all:
			c.Duplicated++
			c.example(fmt.Sprintf("user %s: %d deliveries (%d answered 200), %d distinct replies", r.uid(i), u.all, u.ok, distinct))
		}
		if u.clean && len(sends) == len(u.starts) {
			slices.SortFunc(u.starts, func(a, b time.Time) int { return a.Compare(b) })
			slices.SortFunc(sends, func(a, b time.Time) int { return a.Compare(b) })
			for j := range sends {
				res.EndToEnd.Record(sends[j].Sub(u.starts[j]))
			}
		}
	}
	res.Check = c
}

// AcceptRate is the webhooks answered 200 per second of the load phase.
func (res *Result) AcceptRate() float64 { return float64(res.OK) / res.Elapsed.Seconds() }

// EndToEndRate is the replies per second from the first request to the
// last reply: the rate the whole path sustained, backlog included.
func (res *Result) EndToEndRate() float64 {
	if res.Replies == 0 || !res.LastReply.After(res.Start) {
		return 0
	}
	return float64(res.Replies) / res.LastReply.Sub(res.Start).Seconds()
}

func (c *Check) example(s string) {
	if len(c.Examples) < 5 {
		c.Examples = append(c.Examples, s)
	}
}

// progress prints a line per second until the returned stop is called.
func (r *Runner) progress(phase string, line func() string, counter *atomic.Int64) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		var last int64
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				extra := ""
				if counter != nil {
					n := counter.Load()
					extra = fmt.Sprintf(" rate=%d/s", n-last)
					last = n
				}
				if r.graph != nil {
					extra += fmt.Sprintf(" graph_sends=%d", r.graph.Total())
				}
				if r.opts.RSS != nil {
					extra += " " + r.opts.RSS.Current()
				}
				fmt.Fprintf(r.opts.Progress, "[%s %s %3.0fs] %s%s\n", r.opts.Label, phase, now.Sub(start).Seconds(), line(), extra)
			}
		}
	}()
	return func() { close(done); <-finished }
}

// Write prints the report of a run.
func (res *Result) Write(w io.Writer) {
	fmt.Fprintf(w, "== %s ==\n", res.Label)
	secs := res.Elapsed.Seconds()
	fmt.Fprintf(w, "load: %d webhooks in %.2fs: %.0f/s sent, %.0f/s answered 200\n", res.Sent, secs, float64(res.Sent)/secs, float64(res.OK)/secs)
	fmt.Fprintf(w, "accept latency: %s\n", res.Accept.String())
	keys := make([]string, 0, len(res.Statuses))
	for k := range res.Statuses {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	fmt.Fprint(w, "answers:")
	for _, k := range keys {
		fmt.Fprintf(w, " %s=%d", k, res.Statuses[k])
	}
	fmt.Fprintln(w)
	if res.Replayed > 0 || res.Unsent > 0 {
		fmt.Fprintf(w, "replayed: %d deliveries resent; %d never answered 200\n", res.Replayed, res.Unsent)
	}
	if res.Check != nil {
		fmt.Fprintf(w, "replies at the fake Graph API: %d for %d deliveries answered 200\n", res.Replies, res.Expected)
		fmt.Fprintf(w, "end to end (webhook sent -> reply at Graph API): %s\n", res.EndToEnd.String())
		fmt.Fprintf(w, "end-to-end rate (replies / first request to last reply): %.0f/s\n", res.EndToEndRate())
		verdict := "OK"
		if !res.Check.OK() {
			verdict = "VIOLATION"
		}
		fmt.Fprintf(w, "exactly once: %s (%s)\n", verdict, res.Check)
		for _, e := range res.Check.Examples {
			fmt.Fprintf(w, "  %s\n", e)
		}
	}
}
