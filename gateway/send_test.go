package gateway

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/gateway/engine"
	"switchboard/internal/testkit"
	"switchboard/queue"
	"switchboard/routing"
)

// findEntry returns a conversation's transcript entry with text.
func (h *harness) findEntry(convID, text string) (queue.Entry, bool) {
	h.t.Helper()
	for _, e := range h.transcript(convID) {
		if e.Text == text {
			return e, true
		}
	}
	return queue.Entry{}, false
}

// entryWithText is findEntry that fails the test when there is none.
func (h *harness) entryWithText(convID, text string) queue.Entry {
	h.t.Helper()
	e, ok := h.findEntry(convID, text)
	if !ok {
		h.t.Fatalf("no transcript entry %q in %s", text, convID)
	}
	return e
}

// waitDelivery waits until the entry with text has the delivery status.
func (h *harness) waitDelivery(convID, text, want string) {
	h.t.Helper()
	h.eventually(fmt.Sprintf("%q is %s", text, want), func() bool {
		e, ok := h.findEntry(convID, text)
		return ok && e.Delivery == want
	})
}

// TestSendRetriedUntilDelivered: a send the Graph API fails twice with a
// server error is retried and delivered exactly once.
func TestSendRetriedUntilDelivered(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.graph.FailNext(2, testkit.ErrServer)
	h.postOK("whatsapp", ana.text("wamid.RT1", "agent", insideHours))
	h.waitDelivery(ana.conv(), msgTransferred, "sent")
	h.settle()
	if got := h.countSent(msgTransferred); got != 3 {
		t.Errorf("Graph API got the message %d times, want 3 (2 failures, 1 success)", got)
	}
	if got := h.countEntries(ana.conv(), routing.AuthorSystem, msgTransferred); got != 1 {
		t.Errorf("transcript has the message %d times, want 1", got)
	}
}

// TestSendWindowClosedNotRetried: 131047 is permanent: one attempt, the
// entry is marked failed and agents get a message.failed notice.
func TestSendWindowClosedNotRetried(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.graph.Respond(testkit.Always(http.StatusBadRequest, testkit.ErrWindowClosed.JSON()))
	h.postOK("whatsapp", ana.text("wamid.WC1", "agent", insideHours))
	h.waitDelivery(ana.conv(), msgTransferred, "failed")
	h.settle()
	if got := h.countSent(msgTransferred); got != 1 {
		t.Errorf("Graph API got the message %d times, want 1 (not retried)", got)
	}
	e := h.entryWithText(ana.conv(), msgTransferred)
	if !strings.Contains(e.DeliveryError, "window_closed") {
		t.Errorf("delivery error = %q, want the window_closed reason", e.DeliveryError)
	}
	found := false
	for _, n := range h.notices("wa-main") {
		if n.Type == engine.NoticeSendFailed && n.Conversation == ana.conv() && strings.Contains(n.Text, e.ID) {
			found = true
		}
	}
	if !found {
		t.Errorf("no message.failed notice for %s among %+v", e.ID, h.notices("wa-main"))
	}
}

// TestDeliveryStatusesMoveForward: status webhooks move a sent message to
// delivered and read; a late "delivered" does not move it back.
func TestDeliveryStatusesMoveForward(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.postOK("whatsapp", ana.text("wamid.ST1", "agent", insideHours))
	h.waitDelivery(ana.conv(), msgTransferred, "sent")
	h.settle()
	wamid := ""
	for _, r := range h.graph.Requests() {
		if r.Text == msgTransferred {
			wamid = r.MessageID
		}
	}
	if wamid == "" {
		t.Fatalf("no accepted send of %q among %q", msgTransferred, h.sentTexts())
	}
	steps := []struct{ status, want string }{
		{"delivered", "delivered"},
		{"read", "read"},
		{"delivered", "read"}, // late: ignored
		{"sent", "read"},      // late: ignored
	}
	for i, s := range steps {
		h.postOK("whatsapp", waStatus(wamid, s.status, ana.id, insideHours.Add(time.Duration(i+1)*time.Second)))
		h.settle()
		if got := h.entryWithText(ana.conv(), msgTransferred).Delivery; got != s.want {
			t.Errorf("after status %q (step %d): delivery %q, want %q", s.status, i+1, got, s.want)
		}
	}
}

// TestReadiness: /readyz and the webhooks follow Redis: 503 while it is
// down, back to normal when it returns.
func TestReadiness(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	if status, body := h.api(http.MethodGet, "/readyz", "", nil); status != http.StatusOK {
		t.Fatalf("/readyz = %d %s, want 200", status, body)
	}
	h.redis.Stop()
	if status, body := h.api(http.MethodGet, "/readyz", "", nil); status != http.StatusServiceUnavailable {
		t.Errorf("/readyz with Redis down = %d %s, want 503", status, body)
	} else if _, port, _ := strings.Cut(h.redis.Addr, ":"); strings.Contains(string(body), port) || strings.Contains(string(body), "dial") {
		t.Errorf("/readyz with Redis down = %s: it shows the internal error", body)
	}
	if got := h.post("whatsapp", ana.text("wamid.RD1", "hello", insideHours), waSecret); got != http.StatusServiceUnavailable {
		t.Errorf("webhook with Redis down = %d, want 503 (so Meta retries)", got)
	}
	if status, _ := h.api(http.MethodGet, "/healthz", "", nil); status != http.StatusOK {
		t.Errorf("/healthz with Redis down = %d, want 200 (the process is alive)", status)
	}
	h.redis.Restart()
	h.eventually("/readyz answers 200 again", func() bool {
		status, _ := h.api(http.MethodGet, "/readyz", "", nil)
		return status == http.StatusOK
	})
	// Meta's retry of the refused webhook is now accepted and processed. The
	// shared pool may still refuse for up to a second after readiness (it
	// waits that long before dialling again after an outage's failed
	// dials), so the retry is retried, as Meta does.
	body := ana.text("wamid.RD1", "hello", insideHours)
	h.eventually("Meta's retry accepted", func() bool { return h.post("whatsapp", body, waSecret) == http.StatusOK })
	h.waitSent(msgGreeting, 1)
}

// TestWebhookRejects: a bad signature is 401, bad JSON 400, an unknown
// account 200 (and nothing happens).
func TestWebhookRejects(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	body := ana.text("wamid.WR1", "hello", insideHours)
	if got := h.post("whatsapp", body, "wrong-secret"); got != http.StatusUnauthorized {
		t.Errorf("bad signature = %d, want 401", got)
	}
	if got := h.post("whatsapp", body, fbSecret); got != http.StatusUnauthorized {
		t.Errorf("another platform's secret = %d, want 401", got)
	}
	if got := h.post("whatsapp", []byte(`{"object":`), waSecret); got != http.StatusBadRequest {
		t.Errorf("malformed JSON = %d, want 400", got)
	}
	unknown := strings.Replace(string(body), waPhoneID, "999999999999999", 1)
	if got := h.post("whatsapp", []byte(unknown), waSecret); got != http.StatusOK {
		t.Errorf("unknown phone number id = %d, want 200", got)
	}
	h.settle()
	if n := len(h.graph.Requests()); n != 0 {
		t.Errorf("rejected webhooks caused %d sends", n)
	}
	if rec := h.record(ana.conv()); rec.Version != 0 {
		t.Errorf("a rejected webhook created the conversation: %+v", rec)
	}
}

// TestAReplyIsRecordedBeforeTheNextEvent: a worker writes the record of a
// reply it sent before it handles its batch's next event; only the last
// event's record rides with the release. A gateway killed mid-batch thus
// leaves unrecorded (and sends again after the restart) at most the reply
// it was sending, as before records rode with the release.
func TestAReplyIsRecordedBeforeTheNextEvent(t *testing.T) {
	bot, url := startEchoBot(t)
	bot.gate, bot.asked = make(chan struct{}), make(chan struct{}, 1)
	h := newHarness(t, harnessOptions{start: insideHours, botURL: url})
	var (
		mu         sync.Mutex
		unrecorded []string
	)
	// At each send, every earlier reply has its record (delivery "sent").
	h.graph.Respond(func(_ int, s testkit.Send) (int, string) {
		entries, err := h.app.store.Transcript(context.Background(), ana.conv())
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			unrecorded = append(unrecorded, err.Error())
		}
		for _, e := range entries {
			if e.Author == routing.AuthorBot && e.Text != s.Text && e.Delivery != "sent" {
				unrecorded = append(unrecorded, fmt.Sprintf("%q (%q) at the send of %q", e.Text, e.Delivery, s.Text))
			}
		}
		return 0, ""
	})
	post := func(i int) {
		body := ana.text(fmt.Sprintf("wamid.R%d", i), fmt.Sprintf("message %d", i), insideHours.Add(time.Duration(i)*time.Second))
		if got := h.post("whatsapp", body, waSecret); got != http.StatusOK {
			t.Fatalf("POST message %d = %d, want 200", i, got)
		}
	}
	// The bot holds its first answer while three more messages arrive, so
	// the worker's next batch holds those three.
	post(0)
	<-bot.asked
	for i := 1; i <= 3; i++ {
		post(i)
	}
	close(bot.gate)
	h.eventually("4 replies are sent", func() bool { return len(h.graph.Requests()) >= 4 })
	h.settle()
	for i := range 4 {
		h.waitDelivery(ana.conv(), fmt.Sprintf("echo: message %d", i), "sent")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(unrecorded) > 0 {
		t.Errorf("replies not recorded when the next went out: %v", unrecorded)
	}
}
