package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"switchboard/queue"
)

// eventsRoute is the route of the agents' event streams.
const eventsRoute = "/api/v1/events"

const (
	// hubBlock is how long a channel's reader waits in one blocking read.
	hubBlock = 2 * time.Second
	// HubConns is what the hub's reader needs: a connection per channel
	// being streamed, at most.
	HubConns = 1024
	// catchUpPage is how many notices one catch-up read takes.
	catchUpPage = 100
)

// errStreamsClosed answers a stream opened while the gateway shuts down.
var errStreamsClosed = &apiError{http.StatusServiceUnavailable, "unavailable", "the gateway is shutting down; reconnect"}

// StreamReader reads one channel's event stream after an id, blocking up
// to block for new notices (block < 0: not at all); *queue.Store of a
// Redis of its own (queue.Redis.Side) is one. Close cuts blocking reads
// short.
type StreamReader interface {
	ReadStream(ctx context.Context, channel, after string, block time.Duration, count int64) ([]queue.Notice, error)
	Close() error
}

// eventHub reads the channels' event streams once per process and fans
// their notices out to the open event streams. Each channel with
// subscribers has one reader, blocking on a single-key read on a
// connection of the hub's own, so a stream holds no connection of the
// shared pool and the number of Redis connections does not grow with the
// number of streams.
type eventHub struct {
	reader   StreamReader // on connections of the hub's own
	log      *slog.Logger
	limits   Limits
	open     prometheus.Gauge
	catchUps prometheus.Counter
	mu       sync.Mutex
	channels map[string]*hubChannel
	perAgent map[string]int
	total    int
	closed   bool
	readers  sync.WaitGroup
}

// hubChannel is one channel's reader and its subscribers.
type hubChannel struct {
	subs   map[*subscription]struct{}
	cancel context.CancelFunc
}

// subscription is one open event stream.
type subscription struct {
	agent    string
	channels []string
	notices  chan *queue.Notice // shared by every subscriber: read only
	lagged   atomic.Bool        // a notice was dropped for a full buffer
	done     chan struct{}
	err      error // why done was closed (nil: shutdown), set before it is
	once     sync.Once
}

func (s *subscription) end(err error) {
	s.once.Do(func() {
		s.err = err
		close(s.done)
	})
}

func newEventHub(reader StreamReader, limits Limits, log *slog.Logger, reg prometheus.Registerer) *eventHub {
	h := &eventHub{reader: reader, log: log, limits: limits,
		channels: map[string]*hubChannel{}, perAgent: map[string]int{},
		open: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "switchboard_event_streams_open", Help: "Open agent event streams (GET /api/v1/events).",
		}),
		catchUps: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_event_stream_catchups_total", Help: "Times an event stream fell behind and read what it missed from Redis.",
		}),
	}
	reg.MustRegister(h.open, h.catchUps)
	return h
}

// reserve counts a new stream against the caps; release undoes it.
func (h *eventHub) reserve(agent string, chans []string) (*subscription, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return nil, errStreamsClosed
	case h.total >= h.limits.MaxStreams:
		return nil, &apiError{http.StatusTooManyRequests, "too_many_streams",
			fmt.Sprintf("the gateway has %d event streams open, its limit (MaxStreams); retry later", h.total)}
	case h.perAgent[agent] >= h.limits.MaxStreamsPerAgent:
		return nil, &apiError{http.StatusTooManyRequests, "too_many_streams",
			fmt.Sprintf("agent %s has %d event streams open, the limit per agent (MaxStreamsPerAgent); close one first", agent, h.perAgent[agent])}
	}
	h.total++
	h.perAgent[agent]++
	h.open.Inc()
	return &subscription{agent: agent, channels: chans, notices: make(chan *queue.Notice, h.limits.StreamBuffer), done: make(chan struct{})}, nil
}

// subscribe delivers the notices of the subscription's channels published
// after heads (each channel's position, read before the call) to it,
// starting the readers of channels that have none.
func (h *eventHub) subscribe(sub *subscription, heads queue.Cursor) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return errStreamsClosed
	}
	for _, ch := range sub.channels {
		hc := h.channels[ch]
		if hc == nil {
			ctx, cancel := context.WithCancel(context.Background())
			hc = &hubChannel{subs: map[*subscription]struct{}{}, cancel: cancel}
			h.channels[ch] = hc
			h.readers.Add(1)
			go h.read(ctx, hc, ch, heads[ch])
		}
		hc.subs[sub] = struct{}{}
	}
	return nil
}

// release ends a stream's subscription; a channel's reader stops with its
// last subscriber.
func (h *eventHub) release(sub *subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.total--
	h.open.Dec()
	if h.perAgent[sub.agent]--; h.perAgent[sub.agent] == 0 {
		delete(h.perAgent, sub.agent)
	}
	for _, ch := range sub.channels {
		hc := h.channels[ch]
		if hc == nil {
			continue
		}
		if _, ok := hc.subs[sub]; !ok {
			continue // its reader failed and was replaced
		}
		delete(hc.subs, sub)
		if len(hc.subs) == 0 {
			hc.cancel()
			delete(h.channels, ch)
		}
	}
}

// read follows one channel's stream from last, handing each notice to the
// channel's subscribers, until cancelled. A failed read ends those
// subscriptions (their clients reconnect and resume); the channel's next
// subscriber starts a new reader.
func (h *eventHub) read(ctx context.Context, hc *hubChannel, ch, last string) {
	defer h.readers.Done()
	for {
		notices, err := h.reader.ReadStream(ctx, ch, last, hubBlock, catchUpPage)
		if ctx.Err() != nil {
			return
		}
		h.mu.Lock()
		if err != nil {
			h.log.Warn("event stream read failed; its streams end and resume on reconnection", "channel", ch, "err", err)
			if h.channels[ch] == hc {
				delete(h.channels, ch)
			}
			for sub := range hc.subs {
				sub.end(err)
			}
			hc.cancel()
			h.mu.Unlock()
			return
		}
		for i := range notices {
			n := &notices[i]
			last = n.ID
			for sub := range hc.subs {
				select {
				case sub.notices <- n:
				default:
					sub.lagged.Store(true) // the stream reads what it missed from Redis
				}
			}
		}
		h.mu.Unlock()
	}
}

// shutdown ends every stream, so that the HTTP server's shutdown does not
// wait for them; new ones are refused.
func (h *eventHub) shutdown() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for _, hc := range h.channels {
		for sub := range hc.subs {
			sub.end(nil)
		}
	}
}

// close stops the readers and closes the hub's connections.
func (h *eventHub) close() error {
	h.shutdown()
	h.mu.Lock()
	for _, hc := range h.channels {
		hc.cancel()
	}
	h.mu.Unlock()
	err := h.reader.Close() // cuts the blocking reads short
	h.readers.Wait()
	return err
}

// errNoLongerServed ends a stream whose agent a reload removed or changed.
var errNoLongerServed = errors.New("the agent is no longer served as it signed in")

// events streams the agent's channels' notices as server-sent events. The
// event id is a cursor over the channels' streams, so a client that
// reconnects with Last-Event-ID misses nothing: the stream first reads
// what the client missed from Redis, then takes the notices the hub hands
// it, skipping those it already sent. A stream whose agent a reload
// removed, or whose channels it changed, ends: the client reconnects and
// is authenticated again.
func (s *Server) events(c echo.Context) error {
	ag := agentOf(c)
	ctx := c.Request().Context()
	sub, err := s.hub.reserve(ag.ID, ag.Channels)
	if err != nil {
		return err
	}
	defer s.hub.release(sub)
	// Each channel's position now, before subscribing: the hub hands over
	// what comes after it, and the catch-up below reads what came before.
	heads := queue.Cursor{}
	if err := s.engine.PinEvents(ctx, ag, heads); err != nil {
		return err
	}
	if err := s.hub.subscribe(sub, heads); err != nil {
		return err
	}
	// A channel the client has no position in starts now: from "connected"
	// on nothing is missed, and every event id names a position in every
	// channel, so a resume misses nothing either.
	given := queue.ParseCursor(c.Request().Header.Get("Last-Event-ID"))
	cur := queue.Cursor{}
	for _, ch := range ag.Channels {
		cur[ch] = heads[ch]
		// Only a well-formed id is taken: every real id is after "".
		if id, ok := given[ch]; ok && queue.EventAfter(id, "") {
			cur[ch] = id
		}
	}
	w := c.Response()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": connected\n\n")
	w.Flush()

	send := func(n *queue.Notice) {
		if !queue.EventAfter(n.ID, cur[n.Channel]) {
			return // already sent
		}
		cur[n.Channel] = n.ID // each event's id resumes right after it
		data, _ := json.Marshal(n)
		fmt.Fprintf(w, "id: %s\nevent: %s\ndata: %s\n\n", cur.String(ag.Channels), n.Type, data)
	}
	catchUp := func() error {
		for _, ch := range ag.Channels {
			for {
				notices, err := s.hub.reader.ReadStream(ctx, ch, cur[ch], -1, catchUpPage)
				if err != nil {
					return err
				}
				// What was read may have been published after a reload
				// that removed the agent (the catch-up runs after
				// "connected", so the client may have caused a reload since).
				if len(notices) > 0 && !s.engine.StillServes(ag) {
					return errNoLongerServed
				}
				for i := range notices {
					send(&notices[i])
				}
				if len(notices) < catchUpPage {
					break
				}
			}
		}
		return nil
	}
	failed := func() error {
		fmt.Fprintf(w, "event: error\ndata: %s\n\n", `{"code":"unavailable"}`)
		w.Flush()
		return nil
	}

	if err := catchUp(); err != nil {
		if ctx.Err() != nil || errors.Is(err, errNoLongerServed) {
			return nil
		}
		return failed()
	}
	w.Flush()
	heartbeat := time.NewTicker(sseHeartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-sub.done:
			if sub.err != nil {
				return failed()
			}
			return nil
		case <-heartbeat.C:
			if !s.engine.StillServes(ag) {
				return nil // revoked or changed by a reload: the client reconnects and is asked again
			}
			fmt.Fprint(w, ": heartbeat\n\n")
			w.Flush()
		case n := <-sub.notices:
			if !s.engine.StillServes(ag) {
				return nil
			}
			// Take what the hub handed over, then ask whether it skipped
			// any: a notice it handed over after one it skipped must not go
			// out before the catch-up has sent the skipped one (the hub
			// marks the skip before it hands over the next notice).
			handed := []*queue.Notice{n}
			for drained := false; !drained && len(handed) <= cap(sub.notices); {
				select {
				case n := <-sub.notices:
					handed = append(handed, n)
				default:
					drained = true
				}
			}
			if sub.lagged.Swap(false) {
				s.hub.catchUps.Inc()
				if err := catchUp(); err != nil {
					if errors.Is(err, errNoLongerServed) {
						return nil
					}
					return failed()
				}
			}
			for _, n := range handed {
				send(n) // skipped when the catch-up sent it
			}
			w.Flush()
			heartbeat.Reset(sseHeartbeat)
		}
	}
}
