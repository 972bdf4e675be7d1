package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"switchboard/channels"
	"switchboard/queue"
	"switchboard/routing"
)

// InboxOptions describe the inbox benchmark.
type InboxOptions struct {
	Conversations int           // seeded through the store, spread over the channels (default 100000)
	Listers       int           // concurrent agents listing pages (default 50)
	Page          int           // page size (default 50)
	Think         time.Duration // each lister's pause between pages (0: none, a closed loop)
	Duration      time.Duration // of each phase (default 10s)
	SignalRate    float64       // read and typing requests per second, half each (default 1000)
	Run           int           // run number in user ids; default random
	Progress      io.Writer
}

func (o *InboxOptions) defaults() {
	if o.Conversations <= 0 {
		o.Conversations = 100000
	}
	if o.Listers <= 0 {
		o.Listers = 50
	}
	if o.Page <= 0 {
		o.Page = 50
	}
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	if o.SignalRate <= 0 {
		o.SignalRate = 1000
	}
	if o.Run == 0 {
		o.Run = 1 + rand.IntN(99998)
	}
}

// InboxResult is what the inbox benchmark measured.
type InboxResult struct {
	Seeded                  int
	SeedElapsed             time.Duration
	Pages                   int64
	PageErrors              map[string]int
	List                    Histogram
	ListElapsed             time.Duration
	Signals, SignalErrors   int64
	SignalStatuses          map[string]int
	Signal                  Histogram
	SignalElapsed           time.Duration
	SignalRate, PageRequest float64
	Think                   time.Duration
}

// Write prints the report.
func (r *InboxResult) Write(w io.Writer) {
	fmt.Fprintf(w, "== inbox ==\nseeded %d conversations through the store in %.1fs\n", r.Seeded, r.SeedElapsed.Seconds())
	fmt.Fprintf(w, "list pages of %.0f (think %s): %d in %.1fs (%.0f/s); latency %s; errors %v\n",
		r.PageRequest, r.Think, r.Pages, r.ListElapsed.Seconds(), float64(r.Pages)/r.ListElapsed.Seconds(), r.List.String(), r.PageErrors)
	fmt.Fprintf(w, "read+typing at %.0f/s: %d in %.1fs (%.0f/s); latency %s; answers %v\n",
		r.SignalRate, r.Signals, r.SignalElapsed.Seconds(), float64(r.Signals)/r.SignalElapsed.Seconds(), r.Signal.String(), r.SignalStatuses)
}

// OK reports whether no request failed.
func (r *InboxResult) OK() bool { return len(r.PageErrors) == 0 && r.SignalErrors == 0 }

// Inbox seeds conversations straight into the store (committed the way
// the gateway commits them, so every index is built), then has agents
// list pages of their conversations concurrently, then sends read
// receipts and typing indicators at a fixed rate.
func Inbox(ctx context.Context, t *Target, target string, o InboxOptions) (*InboxResult, error) {
	o.defaults()
	if err := CheckLoopbackURL(target); err != nil {
		return nil, err
	}
	if len(t.Agents) == 0 {
		return nil, fmt.Errorf("the config has no agents")
	}
	r, err := queue.Open(ctx, queue.Options{URL: t.Config.Redis.URL.Reveal(), Prefix: t.Config.Redis.Prefix})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	res := &InboxResult{PageErrors: map[string]int{}, SignalStatuses: map[string]int{}, SignalRate: o.SignalRate, PageRequest: float64(o.Page), Think: o.Think}
	start := time.Now()
	ids, err := seedInbox(ctx, r.Store(), t, o)
	if err != nil {
		return nil, err
	}
	res.Seeded, res.SeedElapsed = len(ids), time.Since(start)
	fmt.Fprintf(o.Progress, "inbox: seeded %d in %s\n", len(ids), res.SeedElapsed.Round(time.Millisecond))

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.Listers * 2, MaxConnsPerHost: o.Listers * 2}}
	listPhase(ctx, client, t, target, o, res)
	signalPhase(ctx, client, t, target, ids, o, res)
	return res, nil
}

// seedInbox commits o.Conversations conversations, one ms of activity
// apart: a third with the bot, a third waiting, a sixth assigned to an
// agent, a sixth ended, every fifth labelled when labels are configured.
func seedInbox(ctx context.Context, st *queue.Store, t *Target, o InboxOptions) ([]string, error) {
	ids := make([]string, o.Conversations)
	base := time.Now().Add(-time.Duration(o.Conversations) * time.Millisecond)
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= o.Conversations || ctx.Err() != nil {
					return
				}
				ch := t.Channels[i%len(t.Channels)]
				uid := userID(ch.Platform, o.Run, i)
				id := queue.ConversationID(ch.ID, uid)
				ids[i] = id
				at := base.Add(time.Duration(i) * time.Millisecond)
				rec := &queue.Record{Conversation: routing.Conversation{ID: id, Channel: ch.ID, Platform: channels.Platform(ch.Platform),
					User: channels.User{ID: uid, Name: fmt.Sprintf("Load User %d", i)}, LastActivity: at, LastUserMessage: at},
					LastMessage: &queue.LastMessage{Text: "hello from the load test", At: at}, LastUserMessageID: fmt.Sprintf("m_LTI%s", uid)}
				switch i % 6 {
				case 0, 1:
					rec.State = routing.StateBot
				case 2, 3:
					rec.State, rec.Transferred, rec.WaitingSince = routing.StateWaiting, true, at
				case 4:
					rec.State, rec.AssignedTo = routing.StateAssigned, t.Config.Agents[i%len(t.Config.Agents)].ID
				default:
					rec.State = routing.StateEnded
				}
				if labels := t.Config.Labels; len(labels) > 0 && i%5 == 0 {
					rec.Labels = []string{labels[i%len(labels)]}
				}
				entry := queue.Entry{ID: queue.InboundEntryID(rec.LastUserMessageID), At: at, Author: routing.AuthorUser, Kind: "text", Text: "hello from the load test"}
				if err := st.Commit(ctx, &queue.Commit{Record: rec, Entries: []queue.Entry{entry}}); err != nil {
					once.Do(func() { firstErr = fmt.Errorf("seed %s: %w", id, err) })
					return
				}
			}
		}()
	}
	wg.Wait()
	return ids, firstErr
}

// listPhase has o.Listers agents list pages for o.Duration: the first
// page, then the next two by cursor, and again.
func listPhase(ctx context.Context, client *http.Client, t *Target, target string, o InboxOptions, res *InboxResult) {
	ctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for i := range o.Listers {
		token := t.Agents[i%len(t.Agents)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			var h Histogram
			errs := map[string]int{}
			var pages int64
			cursor := ""
			for n := 0; ctx.Err() == nil; n++ {
				path := "/api/v1/conversations?limit=" + strconv.Itoa(o.Page)
				if n%3 != 0 && cursor != "" {
					path += "&cursor=" + cursor
				}
				t0 := time.Now()
				next, status := listOnce(ctx, client, target+path, token)
				if ctx.Err() != nil {
					break
				}
				h.Record(time.Since(t0))
				pages++
				if status != "200" {
					errs[status]++
				}
				cursor = next
				if o.Think > 0 {
					select {
					case <-ctx.Done():
					case <-time.After(o.Think):
					}
				}
			}
			mu.Lock()
			defer mu.Unlock()
			res.List.Merge(&h)
			res.Pages += pages
			for k, v := range errs {
				res.PageErrors[k] += v
			}
		}()
	}
	wg.Wait()
	res.ListElapsed = time.Since(start)
}

func listOnce(ctx context.Context, client *http.Client, url, token string) (cursor, status string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", "bad_request"
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return "", "conn_error"
	}
	defer resp.Body.Close()
	var page struct {
		Conversations []json.RawMessage `json:"conversations"`
		NextCursor    string            `json:"next_cursor"`
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || len(page.Conversations) == 0 {
			return "", "bad_body"
		}
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return page.NextCursor, strconv.Itoa(resp.StatusCode)
}

// signalPhase sends read and typing requests, alternately, at
// o.SignalRate for o.Duration, on random seeded conversations.
func signalPhase(ctx context.Context, client *http.Client, t *Target, target string, ids []string, o InboxOptions, res *InboxResult) {
	ctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 1024)
	start := time.Now()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for n := 0; ; n++ {
		// Paced by the clock, not by ticks (a ticker drops ticks under
		// load): send what is due since the start.
		for n >= int(time.Since(start).Seconds()*o.SignalRate) {
			select {
			case <-ctx.Done():
				wg.Wait()
				res.SignalElapsed = time.Since(start)
				return
			case <-tick.C:
			}
		}
		id := ids[rand.IntN(len(ids))]
		what := "read"
		if n%2 == 1 {
			what = "typing"
		}
		token := t.Agents[n%len(t.Agents)]
		select {
		case sem <- struct{}{}:
		default:
			mu.Lock()
			res.SignalStatuses["client_saturated"]++
			res.SignalErrors++
			mu.Unlock()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			t0 := time.Now()
			status := postOnce(context.WithoutCancel(ctx), client, target+"/api/v1/conversations/"+id+"/"+what, token)
			d := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			res.Signal.Record(d)
			res.Signals++
			res.SignalStatuses[status]++
			if status != "204" {
				res.SignalErrors++
			}
		}()
	}
}

func postOnce(ctx context.Context, client *http.Client, url, token string) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	if err != nil {
		return "bad_request"
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return "conn_error"
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return strconv.Itoa(resp.StatusCode)
}
