package loadtest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// StreamsResult is what a streams run measured: the Redis connections
// (CLIENT LIST, less the tool's own) with no event stream open, with a few
// and with all of them.
type StreamsResult struct {
	Channels      int   // the channels the agents serve: one hub reader each at most
	Pool          int   // the gateway's shared pool, which the streams' catch-up reads borrow
	Opened, Asked int   // streams that answered ": connected", streams asked
	Counts        []int // streams open at each measure
	Conns         []int // Redis connections at each measure
	StatusCount   map[string]int
	Elapsed       time.Duration
}

// Verdict: every stream opened, and the connections added by all of them
// are at most the shared pool (which their catch-up reads borrow, as any
// request does) and one reader per channel: a bound set by the
// configuration, not by the number of streams.
func (s *StreamsResult) Verdict() Verdict {
	last, first := s.Conns[len(s.Conns)-1], s.Conns[0]
	return Verdict{Name: fmt.Sprintf("Redis connections with %d open event streams", s.Asked),
		Measured: fmt.Sprintf("%d opened; connections %s", s.Opened, s.series()),
		Target:   fmt.Sprintf("all open, at most +%d (shared pool %d, a reader per channel)", s.Pool+s.Channels, s.Pool),
		Met:      s.Opened == s.Asked && last-first <= s.Pool+s.Channels}
}

func (s *StreamsResult) series() string {
	var parts []string
	for i := range s.Conns {
		parts = append(parts, fmt.Sprintf("%d with %d streams", s.Conns[i], s.Counts[i]))
	}
	return strings.Join(parts, ", ")
}

// Write prints the report.
func (s *StreamsResult) Write(w io.Writer) {
	fmt.Fprintf(w, "== event streams ==\n%d of %d streams opened in %.2fs\n", s.Opened, s.Asked, s.Elapsed.Seconds())
	fmt.Fprintf(w, "Redis connections (CLIENT LIST, the tool's own excluded): %s\n", s.series())
	for k, v := range s.StatusCount {
		fmt.Fprintf(w, "answer %s: %d\n", k, v)
	}
}

// Streams opens n event streams (GET /api/v1/events), spread over the
// agents' tokens, counting Redis' client connections before, after a first
// tenth and with all n open; each count is taken settle after the last
// stream of its step connected, and the streams stay open until the end.
func Streams(ctx context.Context, redisURL, target string, tokens []string, channels, pool, n int, settle, limit time.Duration) (*StreamsResult, error) {
	if err := CheckLoopbackURL(target); err != nil {
		return nil, err
	}
	if err := checkLoopback(hostOfURL(redisURL)); err != nil {
		return nil, err
	}
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		return nil, err
	}
	opt.PoolSize = 1
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	res := &StreamsResult{Channels: channels, Pool: pool, Asked: n, StatusCount: map[string]int{}}
	measure := func(open int) error {
		time.Sleep(settle)
		list, err := rdb.ClientList(ctx).Result()
		if err != nil {
			return err
		}
		conns := strings.Count(strings.TrimSpace(list), "\n") // a line per client, less this one
		res.Counts, res.Conns = append(res.Counts, open), append(res.Conns, conns)
		return nil
	}
	if err := measure(0); err != nil {
		return nil, err
	}
	client := &http.Client{Transport: &http.Transport{Proxy: nil, MaxConnsPerHost: n + 10, MaxIdleConnsPerHost: n + 10}}
	defer client.CloseIdleConnections()
	streamCtx, stopStreams := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stopStreams(); wg.Wait() }()
	var mu sync.Mutex
	start := time.Now()
	open := func(from, to int) {
		var step sync.WaitGroup
		for i := from; i < to; i++ {
			step.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				st := openStream(streamCtx, client, target, tokens[i%len(tokens)], step.Done)
				mu.Lock()
				if st == "200" {
					res.Opened++
				} else {
					res.StatusCount[st]++
				}
				mu.Unlock()
			}()
		}
		step.Wait()
	}
	first := max(1, n/10)
	open(0, first)
	if err := measure(first); err != nil {
		return nil, err
	}
	open(first, n)
	res.Elapsed = time.Since(start)
	if err := measure(n); err != nil {
		return nil, err
	}
	return res, nil
}

// openStream opens one event stream, calls connected once it has read
// ": connected" (or failed), and reads it until ctx ends. It returns "200"
// for a stream that connected, else the answer.
func openStream(ctx context.Context, client *http.Client, target, token string, connected func()) (status string) {
	once := sync.OnceFunc(connected)
	defer once()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target+"/api/v1/events", nil)
	if err != nil {
		return "bad_request"
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := client.Do(req)
	if err != nil {
		return "conn_error"
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Sprint(resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	if !sc.Scan() || sc.Text() != ": connected" {
		return "no_connected_line"
	}
	once()
	for sc.Scan() {
	}
	return "200"
}
