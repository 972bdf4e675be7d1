// The console in a real browser through what an agent's day brings: a
// dropped connection (the event stream resumes with Last-Event-ID), a
// session that ends with a reply half written, a user lost to the
// messaging window and won back with a template, a thousand waiting
// conversations, and a switch of lists while a page is on its way. The
// helpers are console_browser_test.go's.

package gateway

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"

	"switchboard/channels"
	"switchboard/queue"
	"switchboard/routing"
)

// cutProxy forwards TCP connections to the gateway and can cut them all at
// once, as a dropped network does. It reads the HTTP requests that pass
// and keeps the Last-Event-ID header of each one to /api/v1/events.
type cutProxy struct {
	t      *testing.T
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	// lastEventIDs has one element per event stream request: its
	// Last-Event-ID, or "" without one.
	lastEventIDs []string
}

func newCutProxy(t *testing.T, targetURL string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{t: t, ln: ln, target: strings.TrimPrefix(targetURL, "http://")}
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.cut() })
	return p
}

func (p *cutProxy) url() string { return "http://" + p.ln.Addr().String() }

func (p *cutProxy) serve() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, client, server)
		p.mu.Unlock()
		requests, seen := io.Pipe()
		go p.read(requests)
		go func() {
			_, _ = io.Copy(server, io.TeeReader(client, seen))
			seen.Close()
			server.Close()
		}()
		go func() {
			_, _ = io.Copy(client, server)
			client.Close()
		}()
	}
}

// read parses the requests a browser connection carries.
func (p *cutProxy) read(requests *io.PipeReader) {
	defer func() { _, _ = io.Copy(io.Discard, requests) }()
	r := bufio.NewReader(requests)
	for {
		req, err := http.ReadRequest(r)
		if err != nil {
			return
		}
		if req.URL.Path == "/api/v1/events" {
			p.mu.Lock()
			p.lastEventIDs = append(p.lastEventIDs, req.Header.Get("Last-Event-ID"))
			p.mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, req.Body)
	}
}

// cut closes every connection, both ways.
func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *cutProxy) eventRequests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lastEventIDs...)
}

// TestBrowserConsoleResumes: the network drops while ana works a
// conversation; the stream comes back with Last-Event-ID and the user's
// message written meanwhile shows without a reload. Then her session ends
// with a reply half written: sign-in comes back, and after it the reply
// is still there and goes out.
func TestBrowserConsoleResumes(t *testing.T) {
	h := newHarness(t, harnessOptions{yaml: browserConfig, start: time.Now().Truncate(time.Second)})
	p := newCutProxy(t, h.base)
	b := newBrowser(t, 1280, 800)
	b.run(chromedp.Navigate(p.url() + "/console/"))
	b.signIn("ana", anaPassword)
	b.waitRole("list", "Waiting")
	h.apiJSON(http.MethodPut, "/api/v1/agents/me/presence", anaToken, map[string]string{"status": "online"}, http.StatusOK, nil)
	h.postOK("whatsapp", beto.text("wamid.RS1", "agent", h.clock.Now()))
	b.shows("ul[aria-label=Waiting] li", "Beto Lima")
	b.click("button", "Claim next")
	b.waitRole("heading", "Beto Lima")
	b.waitJS("connected", `document.getElementById('connection').dataset.status === 'live'`, 5*time.Second)

	p.cut()
	h.postOK("whatsapp", beto.text("wamid.RS2", "are you still there?", h.clock.Now()))
	b.shows("ol[aria-label=Transcript] li", "are you still there?")
	b.waitJS("connected again", `document.getElementById('connection').dataset.status === 'live'`, 10*time.Second)
	ids := p.eventRequests()
	if len(ids) < 2 || ids[0] != "" || ids[len(ids)-1] == "" {
		t.Errorf("Last-Event-ID of the event stream requests: %q, want none on the first and one on the reconnection", ids)
	}

	// The session ends (sessions.ttl is 12h) while a reply is half written.
	b.compose("about your order")
	h.setClock(h.clock.Now().Add(13 * time.Hour))
	// The first request after that finds the session over: the agent's
	// Send, unless the composer's typing indicator went first.
	b.js(`document.getElementById('signin').hidden && document.getElementById('composer-text').form.requestSubmit()`)
	b.waitRole("button", "Sign in")
	b.waitJS("the session's end explained", `!document.getElementById('signin-expired').hidden`, 5*time.Second)
	if n := h.countSent("about your order"); n != 0 {
		t.Fatalf("the reply went out %d times without a session", n)
	}
	b.signIn("ana", anaPassword)
	b.waitRole("heading", "Beto Lima")
	b.waitJS("the draft is kept", `document.getElementById('composer-text').value === 'about your order'`, 5*time.Second)
	b.click("button", "Send")
	h.waitSent("about your order", 1)
	b.noErrors("net::ERR_INCOMPLETE_CHUNKED_ENCODING") // the cut stream
}

// templateConfig is browserConfig with a template on wa-main.
func templateConfig(yaml string, env map[string]string) string {
	yaml = browserConfig(yaml, env)
	return strings.Replace(yaml, "    access_token: wa-access-test-0123456789\n",
		"    access_token: wa-access-test-0123456789\n    templates:\n      - {name: follow_up, language: es_AR, body: [\"{user.name}\", \"{agent}\"]}\n", 1)
}

// TestBrowserConsoleTemplate: a user waited a whole day and was missed;
// the messaging window is closed, so ana's text is refused and the
// template picker offers the channel's template, which reaches the user.
func TestBrowserConsoleTemplate(t *testing.T) {
	start := time.Now().Truncate(time.Second)
	h := newHarness(t, harnessOptions{yaml: templateConfig, start: start})
	h.apiJSON(http.MethodPut, "/api/v1/agents/me/presence", anaToken, map[string]string{"status": "online"}, http.StatusOK, nil)
	h.postOK("whatsapp", ana.text("wamid.TP1", "agent", start))
	h.waitState(ana.conv(), routing.StateWaiting)
	h.tick(start.Add(24*time.Hour + 2*time.Minute))
	h.waitState(ana.conv(), routing.StateEnded)

	b := newBrowser(t, 1280, 800)
	b.run(chromedp.Navigate(h.base + "/console/#/missed"))
	b.signIn("ana", anaPassword)
	b.waitRole("list", "Missed")
	b.shows("ul[aria-label=Missed] li", "Ana Souza")
	b.openRow("Missed")
	b.waitRole("heading", "Ana Souza")
	b.compose("hola, seguimos?")
	b.click("button", "Send")
	b.shows("[role=alert]", "The messaging window is closed")
	b.waitRole("group", "Template")
	if names := evalT[string](b, `[...document.querySelectorAll('#template-name option')].map(o => o.value).join()`); names != "follow_up" {
		t.Errorf("the picker offers %q, want follow_up", names)
	}
	b.click("button", "Send template")
	h.eventually("the template reaches the user", func() bool {
		for _, s := range h.requestsWith(`"template"`) {
			if strings.Contains(string(s.Body), `"follow_up"`) {
				return true
			}
		}
		return false
	})
	if n := h.countSent("hola, seguimos?"); n != 0 {
		t.Errorf("the refused text was sent %d times", n)
	}
	h.eventually("ana holds the conversation", func() bool { return h.record(ana.conv()).AssignedTo == "ana" })
	b.noErrors("422 (Unprocessable Entity)") // the refused text
}

// consoleOnLine starts a gateway with n users waiting on wa-main and a
// browser signed in as ana on the Waiting list.
func consoleOnLine(t testing.TB, n int) (*harness, *browser) {
	h := newHarness(t, harnessOptions{yaml: browserConfig, start: time.Now().Truncate(time.Second)})
	seedWaiting(t, h, n)
	b := newBrowser(t, 1280, 800)
	b.run(chromedp.Navigate(h.base + "/console/"))
	b.signIn("ana", anaPassword)
	b.waitRole("list", "Waiting")
	return h, b
}

// seedWaiting puts n conversations in wa-main's line, one second of
// waiting apart, straight into the store.
func seedWaiting(t testing.TB, h *harness, n int) {
	ctx := context.Background()
	base := h.clock.Now().Add(-time.Duration(n) * time.Second)
	for i := range n {
		uid := fmt.Sprintf("55119%08d", i)
		id := queue.ConversationID("wa-main", uid)
		at := base.Add(time.Duration(i) * time.Second)
		rec := &queue.Record{Conversation: routing.Conversation{ID: id, Channel: "wa-main", Platform: channels.WhatsApp,
			User: channels.User{ID: uid, Name: fmt.Sprintf("Waiting User %04d", i)}, LastActivity: at, LastUserMessage: at,
			State: routing.StateWaiting, Transferred: true, WaitingSince: at},
			LastMessage: &queue.LastMessage{Text: "I want to talk to a person", At: at}, LastUserMessageID: "wamid.SEED" + uid}
		commit := &queue.Commit{Record: rec, Line: queue.LineJoin, Since: at}
		entry := queue.Entry{ID: queue.InboundEntryID(rec.LastUserMessageID), At: at, Author: routing.AuthorUser, Kind: "text", Text: "I want to talk to a person"}
		commit.Entries = []queue.Entry{entry}
		if err := h.app.store.Commit(ctx, commit); err != nil {
			t.Fatalf("seed %s: %v", id, err)
		}
	}
}

// scrollToEnd scrolls the Waiting list down until it shows want rows (the
// console fetches a page and renders a chunk at a time as the end nears).
// It polls on a timer, not on animation frames, and on failure tells where
// the list pane stood.
func (b *browser) scrollToEnd(want int) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](fmt.Sprintf(`(() => {
		const rows = document.querySelectorAll('ul[aria-label=Waiting] li');
		if (rows.length) rows[rows.length - 1].scrollIntoView({block: 'end'});
		return rows.length >= %d;
	})()`, want), chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(60*time.Second))); err != nil {
		b.t.Fatalf("%s after scrolling, want %d rows (%v)", evalT[string](b, `(() => {
			const p = document.getElementById('list-pane');
			return document.querySelectorAll('ul[aria-label=Waiting] li').length + ' rows; pane scrollTop ' + p.scrollTop +
				', scrollHeight ' + p.scrollHeight + ', clientHeight ' + p.clientHeight +
				'; status ' + JSON.stringify(document.getElementById('list-status').textContent);
		})()`), want, err)
	}
}

// TestBrowserConsoleThousand: with 1,000 users waiting, the title counts
// them and scrolling the Waiting list reaches every one, each once.
func TestBrowserConsoleThousand(t *testing.T) {
	_, b := consoleOnLine(t, 1000)
	// The line of 1,000 is read through the embedded Redis' Lua too, slow
	// under the race detector: the bound is the scroll's.
	b.waitJS("the title counts 1,000 waiting", `document.title === '(1000) Switchboard'`, time.Minute)
	b.scrollToEnd(1000)
	rows := evalT[[]string](b, `[...document.querySelectorAll('ul[aria-label=Waiting] li')].map(li => li.textContent.match(/Waiting User \d{4}/)?.[0] || '')`)
	seen := map[string]bool{}
	for _, r := range rows {
		if r == "" || seen[r] {
			t.Fatalf("row %q is missing a user or shown twice", r)
		}
		seen[r] = true
	}
	if len(seen) != 1000 || rows[0] != "Waiting User 0000" || rows[999] != "Waiting User 0999" {
		t.Errorf("%d users listed, from %q to %q; want 1,000 in line order", len(seen), rows[0], rows[len(rows)-1])
	}
	b.noErrors()
}

// TestBrowserConsoleSwitchDuringAFetch: an agent who leaves a list while
// its page is still on the way (held here in the browser) finds the next
// list working: the Waiting list shows its rows and pages to its end, and
// the late page changes nothing. (A page still coming once left the list
// marked loading, and no later chunk rendered.)
func TestBrowserConsoleSwitchDuringAFetch(t *testing.T) {
	_, b := consoleOnLine(t, 120)
	paused := make(chan fetch.RequestID, 16)
	if err := chromedp.Listen(b.ctx, func(ev any) {
		if e, ok := ev.(*fetch.EventRequestPaused); ok {
			paused <- e.RequestID
		}
	}); err != nil {
		t.Fatal(err)
	}
	// The listings' requests ("?" escaped: a conversation's own URL goes on).
	pattern := []*fetch.RequestPattern{{URLPattern: `*/api/v1/conversations\?*`, RequestStage: fetch.RequestStageRequest}}
	if _, err := chromedp.Call(b.ctx, fetch.Enable, fetch.EnableParams{Patterns: pattern}); err != nil {
		t.Fatal(err)
	}
	b.click("link", "All")
	var held fetch.RequestID
	select {
	case held = <-paused:
	case <-time.After(10 * time.Second):
		t.Fatal("the All list asked for no page")
	}
	b.click("link", "Waiting")
	b.waitRole("list", "Waiting")
	b.scrollToEnd(120)
	if _, err := chromedp.Call(b.ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: held}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(b.ctx, fetch.Disable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	b.click("link", "All")
	b.waitJS("the All list shows its first page", `document.querySelectorAll('ul[aria-label=All] li').length >= 50`, 10*time.Second)
	b.click("link", "Waiting")
	b.scrollToEnd(120)
	if n := evalT[int](b, `document.querySelectorAll('ul[aria-label=Waiting] li').length`); n != 120 {
		t.Errorf("the Waiting list shows %d rows, want 120", n)
	}
	b.noErrors()
}
