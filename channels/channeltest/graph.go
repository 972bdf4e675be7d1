package channeltest

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
)

// Request is one call the fake Graph API received.
type Request struct {
	Method        string
	Path          string
	Authorization string
	ContentType   string
	Body          []byte
}

// Strings returns every string value in the JSON body, in document order.
func (r Request) Strings() []string {
	var v any
	if json.Unmarshal(r.Body, &v) != nil {
		return nil
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			out = append(out, v)
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(v)) {
				walk(v[k])
			}
		}
	}
	walk(v)
	return out
}

// Text returns the longest string value in the JSON body: the message text
// of a text send.
func (r Request) Text() string {
	longest := ""
	for _, s := range r.Strings() {
		if len(s) > len(longest) {
			longest = s
		}
	}
	return longest
}

// Responder answers the n-th call (counting from 1): an HTTP status and body.
type Responder func(n int, r Request) (status int, body string)

// FakeGraph is an httptest Graph API that records every request. By
// default it answers 200 with a body that satisfies both the WhatsApp and
// the Messenger success shapes, with the message id "mid.<n>".
//
// Only gateway's tests still use FakeGraph, Request, Success and Fail; new
// tests use testkit.Graph, and this file goes when gateway's tests move to
// it.
type FakeGraph struct {
	URL string

	mu      sync.Mutex
	reqs    []Request
	respond Responder
}

// NewFakeGraph starts a FakeGraph, closed when the test ends.
func NewFakeGraph(t testing.TB) *FakeGraph {
	g := &FakeGraph{respond: Success}
	srv := httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(srv.Close)
	g.URL = srv.URL
	return g
}

// Success is the default Responder.
func Success(n int, _ Request) (int, string) {
	return http.StatusOK, fmt.Sprintf(`{"messaging_product":"whatsapp","contacts":[{"input":"+1","wa_id":"1"}],`+
		`"messages":[{"id":"mid.%d"}],"recipient_id":"1","message_id":"mid.%d","success":true}`, n, n)
}

// Fail returns a Responder that answers every call with status and body.
func Fail(status int, body string) Responder {
	return func(int, Request) (int, string) { return status, body }
}

// Respond sets how later calls are answered.
func (g *FakeGraph) Respond(r Responder) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.respond = r
}

// Requests returns the calls received so far.
func (g *FakeGraph) Requests() []Request {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Request(nil), g.reqs...)
}

func (g *FakeGraph) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := Request{Method: r.Method, Path: r.URL.Path, Authorization: r.Header.Get("Authorization"),
		ContentType: r.Header.Get("Content-Type"), Body: body}
	g.mu.Lock()
	g.reqs = append(g.reqs, req)
	n, respond := len(g.reqs), g.respond
	g.mu.Unlock()
	status, answer := respond(n, req)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, answer)
}
