package gateway

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"switchboard/routing"
)

// echoBot is an http bot (bots package contract) that answers "echo: <text>"
// and counts, in the conversation's variables, the messages it answered:
// it reads the count from the request and returns count+1, so a lost or
// concurrent commit shows as a count below the number of messages.
type echoBot struct {
	mu          sync.Mutex
	calls       map[string]int // message text -> calls
	newSessions int
	// gate, when set, holds every answer until it is closed; asked is
	// signalled when a request arrives.
	gate  chan struct{}
	asked chan struct{}
}

func startEchoBot(t *testing.T) (*echoBot, string) {
	t.Helper()
	b := &echoBot{calls: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(srv.Close)
	return b, srv.URL
}

func (b *echoBot) serve(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Message struct {
			Text string `json:"text"`
		} `json:"message"`
		Variables  map[string]string `json:"variables"`
		NewSession bool              `json:"new_session"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	b.mu.Lock()
	b.calls[req.Message.Text]++
	if req.NewSession {
		b.newSessions++
	}
	b.mu.Unlock()
	if b.gate != nil {
		select {
		case b.asked <- struct{}{}:
		default:
		}
		<-b.gate
	}
	n, _ := strconv.Atoi(req.Variables["count"])
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"messages":  []map[string]string{{"text": "echo: " + req.Message.Text}},
		"variables": map[string]string{"count": strconv.Itoa(n + 1)},
	})
}

func (b *echoBot) callsOf(text string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls[text]
}

// TestManyEventsOneConversation: 50 messages of one user, posted at once in
// shuffled order, are each processed exactly once and no commit is lost.
func TestManyEventsOneConversation(t *testing.T) {
	bot, url := startEchoBot(t)
	h := newHarness(t, harnessOptions{start: insideHours, botURL: url})
	const n = 50
	texts := make([]string, n)
	bodies := make([][]byte, n)
	for i := range n {
		texts[i] = fmt.Sprintf("message %02d", i)
		bodies[i] = ana.text(fmt.Sprintf("wamid.M%02d", i), texts[i], insideHours.Add(time.Duration(i)*time.Second))
	}
	order := rand.Perm(n)
	var wg sync.WaitGroup
	for _, i := range order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got := h.post("whatsapp", bodies[i], waSecret); got != http.StatusOK {
				t.Errorf("POST message %d = %d, want 200", i, got)
			}
		}()
	}
	wg.Wait()
	h.eventually(fmt.Sprintf("%d bot answers are sent", n), func() bool { return len(h.graph.Requests()) >= n })
	h.settle()

	userSeen, botSeen := map[string]int{}, map[string]int{}
	for _, e := range h.transcript(ana.conv()) {
		switch e.Author {
		case routing.AuthorUser:
			userSeen[e.Text]++
		case routing.AuthorBot:
			botSeen[e.Text]++
		default:
			t.Errorf("unexpected transcript entry %+v", e)
		}
	}
	sent := map[string]int{}
	for _, s := range h.sentTexts() {
		sent[s]++
	}
	for _, text := range texts {
		if userSeen[text] != 1 || botSeen["echo: "+text] != 1 || sent["echo: "+text] != 1 || bot.callsOf(text) != 1 {
			t.Errorf("%q: in transcript %d, answered %d, sent %d, bot called %d times; want each once",
				text, userSeen[text], botSeen["echo: "+text], sent["echo: "+text], bot.callsOf(text))
		}
	}
	if len(h.graph.Requests()) != n {
		t.Errorf("Graph API got %d sends, want %d", len(h.graph.Requests()), n)
	}
	rec := h.record(ana.conv())
	if rec.Variables["count"] != strconv.Itoa(n) {
		t.Errorf("the bot's count = %q, want %d: a commit was lost or two ran on the same state", rec.Variables["count"], n)
	}
	if bot.newSessions != 1 || rec.Sessions != 1 {
		t.Errorf("bot sessions opened: %d (bot saw %d new), want 1", rec.Sessions, bot.newSessions)
	}
	if last := insideHours.Add((n - 1) * time.Second); !rec.LastUserMessage.Equal(last) {
		t.Errorf("last user message at %s, want %s (the latest event)", rec.LastUserMessage, last)
	}
}

// TestDuplicateWebhook: Meta's redelivery of one webhook, five times at
// once, is processed once.
func TestDuplicateWebhook(t *testing.T) {
	bot, url := startEchoBot(t)
	h := newHarness(t, harnessOptions{start: insideHours, botURL: url})
	body := ana.text("wamid.DUP1", "is my order on its way?", insideHours)
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got := h.post("whatsapp", body, waSecret); got != http.StatusOK {
				t.Errorf("POST = %d, want 200", got)
			}
		}()
	}
	wg.Wait()
	h.waitSent("echo: is my order on its way?", 1)
	h.settle()
	// A redelivery after processing is dropped too.
	h.postOK("whatsapp", body)
	h.settle()

	users := 0
	for _, e := range h.transcript(ana.conv()) {
		if e.Author == routing.AuthorUser {
			users++
		}
	}
	if users != 1 {
		t.Errorf("transcript has the event %d times, want 1", users)
	}
	if got := len(h.graph.Requests()); got != 1 {
		t.Errorf("Graph API got %d sends (%q), want 1", got, h.sentTexts())
	}
	if got := bot.callsOf("is my order on its way?"); got != 1 {
		t.Errorf("bot called %d times, want 1", got)
	}
}

// TestSlowBatchKeepsItsLock: a worker whose bot is slower than the
// processing lock's lifetime renews the lock, so a second worker, woken by
// the next webhook, neither takes the conversation nor handles its events
// again: each message reaches the bot once and is answered once.
func TestSlowBatchKeepsItsLock(t *testing.T) {
	bot, url := startEchoBot(t)
	bot.gate, bot.asked = make(chan struct{}), make(chan struct{}, 1)
	const lockTTL = 300 * time.Millisecond
	h := newHarness(t, harnessOptions{start: insideHours, botURL: url, lockTTL: lockTTL})
	h.postOK("whatsapp", ana.text("wamid.SLOW1", "slow", insideHours))
	<-bot.asked
	// The lock's lifetime is counted by Redis in wall-clock time: let it
	// run out several times over while the bot holds the worker.
	time.Sleep(4 * lockTTL)
	h.postOK("whatsapp", ana.text("wamid.SLOW2", "after", insideHours.Add(time.Second)))
	close(bot.gate)
	h.waitSent("echo: after", 1)
	h.settle()
	for _, text := range []string{"slow", "after"} {
		if calls, sent := bot.callsOf(text), h.countSent("echo: "+text); calls != 1 || sent != 1 {
			t.Errorf("%q: bot called %d times, answer sent %d times; want once each", text, calls, sent)
		}
	}
}
