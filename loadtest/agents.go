package loadtest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"switchboard/internal/testkit"
	"switchboard/queue"
)

// Seed puts n users of the target's channels in the waiting line by having
// each send "agent" through the webhook path at full speed, then waits until
// the gateway's waiting_line_length gauge has grown by n. It returns the
// seeded conversation ids.
func Seed(ctx context.Context, t *Target, graph *testkit.Graph, target string, n, concurrency int, limit time.Duration, progress io.Writer) ([]string, error) {
	base, err := waitingTotal(ctx, target)
	if err != nil {
		return nil, err
	}
	r, err := NewRunner(RunOptions{Targets: []string{target}, Users: n, Count: n, Concurrency: concurrency, Text: "agent",
		Replay: limit / 4, Label: "seed", Progress: progress}, t.Channels, nil)
	if err != nil {
		return nil, err
	}
	res := r.Run(ctx)
	if res.Unsent > 0 {
		return nil, fmt.Errorf("seed: %d of %d deliveries never answered 200", res.Unsent, n)
	}
	ids := make([]string, n)
	for u := range n {
		ids[u] = queue.ConversationID(t.Channels[u%len(t.Channels)].ID, r.uid(u))
	}
	deadline := time.Now().Add(limit)
	for {
		total, err := waitingTotal(ctx, target)
		if err == nil && total >= base+int64(n) {
			fmt.Fprintf(progress, "seed: %d conversations waiting (%d before)\n", total, base)
			return ids, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("seed: %d of %d conversations waiting after %s", total-base, n, limit)
		}
		fmt.Fprintf(progress, "seed: waiting %d/%d, graph sends %d\n", total-base, n, graph.Total())
		time.Sleep(time.Second)
	}
}

// waitingTotal sums switchboard_waiting_line_length over every channel.
func waitingTotal(ctx context.Context, target string) (int64, error) {
	v, err := Metric(ctx, target, "switchboard_waiting_line_length")
	return int64(v), err
}

// Metric sums the samples of one metric on a gateway's /metrics.
func Metric(ctx context.Context, target, name string) (float64, error) {
	if err := CheckLoopbackURL(target); err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) || (len(line) > len(name) && line[len(name)] != '{' && line[len(name)] != ' ') {
			continue
		}
		f := strings.Fields(line)
		if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
			sum += v
		}
	}
	return sum, sc.Err()
}

// ClaimsResult is what a claims run measured.
type ClaimsResult struct {
	Agents, Claimed, Twice, Missing int
	Elapsed                         time.Duration
	Statuses                        map[string]int
	Latency                         Histogram
}

// Write prints the report.
func (c *ClaimsResult) Write(w io.Writer) {
	fmt.Fprintf(w, "== claims ==\n%d agents claimed %d conversations in %.2fs: %.0f claims/s\n",
		c.Agents, c.Claimed, c.Elapsed.Seconds(), c.rate())
	fmt.Fprintf(w, "claim latency: %s\nanswers:", c.Latency.String())
	for _, k := range []string{"200", "204"} {
		fmt.Fprintf(w, " %s=%d", k, c.Statuses[k])
	}
	for k, v := range c.Statuses {
		if k != "200" && k != "204" {
			fmt.Fprintf(w, " %s=%d", k, v)
		}
	}
	verdict := "OK"
	if c.Twice > 0 || c.Missing > 0 {
		verdict = "VIOLATION"
	}
	fmt.Fprintf(w, "\nnone taken twice: %s (taken twice %d, seeded but never taken %d)\n", verdict, c.Twice, c.Missing)
}

// OK reports whether every seeded conversation was taken exactly once.
func (c *ClaimsResult) OK() bool { return c.Twice == 0 && c.Missing == 0 }

// Claims has agents take conversations through POST /api/v1/queue/claim
// until the line is empty (204), each agent on its own connection and
// targets taken in turn, and checks that no conversation was taken twice
// and every seeded one was taken.
func Claims(ctx context.Context, targets, tokens []string, seeded []string, limit time.Duration) (*ClaimsResult, error) {
	for _, t := range targets {
		if err := CheckLoopbackURL(t); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	res := &ClaimsResult{Agents: len(tokens), Statuses: map[string]int{}}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: len(tokens), MaxConnsPerHost: len(tokens)}}
	var mu sync.Mutex
	taken := map[string]int{}
	var wg sync.WaitGroup
	start := time.Now()
	for i, tok := range tokens {
		target := targets[i%len(targets)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			var h Histogram
			statuses := map[string]int{}
			var ids []string
			errs := 0
			for range len(seeded) + 100 { // bounded: no agent takes more than everything
				t0 := time.Now()
				id, st := claimOnce(ctx, client, target, tok)
				h.Record(time.Since(t0))
				statuses[st]++
				if st == "204" || ctx.Err() != nil {
					break
				}
				if st != "200" {
					if errs++; errs > 50 {
						break
					}
					time.Sleep(20 * time.Millisecond)
					continue
				}
				ids = append(ids, id)
			}
			mu.Lock()
			defer mu.Unlock()
			res.Latency.Merge(&h)
			for k, v := range statuses {
				res.Statuses[k] += v
			}
			for _, id := range ids {
				taken[id]++
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	for _, n := range taken {
		res.Claimed += n
		if n > 1 {
			res.Twice++
		}
	}
	for _, id := range seeded {
		if taken[id] == 0 {
			res.Missing++
		}
	}
	return res, nil
}

func claimOnce(ctx context.Context, client *http.Client, target, token string) (id, status string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target+"/api/v1/queue/claim", nil)
	if err != nil {
		return "", "bad_request"
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return "", "conn_error"
	}
	defer resp.Body.Close()
	var c struct {
		ID string `json:"id"`
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&c); err != nil || c.ID == "" {
			return "", "bad_body"
		}
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return c.ID, strconv.Itoa(resp.StatusCode)
}

// UsedMemory reads used_memory from INFO memory of the Redis at url.
func UsedMemory(ctx context.Context, url string) (int64, error) {
	if err := checkLoopback(hostOfURL(url)); err != nil {
		return 0, err
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		return 0, err
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	info, err := rdb.Info(ctx, "memory").Result()
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("INFO memory has no used_memory")
}
