package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Graph is a fake Graph API on loopback that answers every send with
// success and records, per recipient, when each send arrived.
type Graph struct {
	srv   *http.Server
	l     net.Listener
	total atomic.Int64
	bad   atomic.Int64 // bodies with no recipient

	mu    sync.Mutex
	sends map[string][]time.Time
}

// StartGraph listens on addr (a loopback host:port) and serves until Close.
func StartGraph(addr string) (*Graph, error) {
	if err := checkLoopback(addr); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("fake graph API: %w", err)
	}
	g := &Graph{l: l, sends: map[string][]time.Time{}}
	g.srv = &http.Server{Handler: g, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := g.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			panic(err)
		}
	}()
	return g, nil
}

// Close stops the server.
func (g *Graph) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return g.srv.Shutdown(ctx)
}

// Total is the number of sends received.
func (g *Graph) Total() int64 { return g.total.Load() }

// Sends returns the arrival times of the sends to one recipient.
func (g *Graph) Sends(user string) []time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]time.Time(nil), g.sends[user]...)
}

// Recipients returns how many sends each recipient got.
func (g *Graph) Recipients() map[string]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make(map[string]int, len(g.sends))
	for u, s := range g.sends {
		out[u] = len(s)
	}
	return out
}

type sendBody struct {
	To        string `json:"to"` // WhatsApp
	Recipient struct {
		ID string `json:"id"`
	} `json:"recipient"` // Messenger, Instagram
}

func (g *Graph) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var sb sendBody
	_ = json.Unmarshal(body, &sb)
	user := strings.TrimPrefix(sb.To, "+") // WhatsApp sends may write the number with a +
	if user == "" {
		user = sb.Recipient.ID
	}
	n := g.total.Add(1)
	if user == "" {
		g.bad.Add(1)
	} else {
		g.mu.Lock()
		g.sends[user] = append(g.sends[user], at)
		g.mu.Unlock()
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"messaging_product":"whatsapp","contacts":[{"input":%q,"wa_id":%q}],"messages":[{"id":"wamid.LTOUT%d"}],"recipient_id":%q,"message_id":"m_LTOUT%d"}`,
		user, user, n, user, n)
}
