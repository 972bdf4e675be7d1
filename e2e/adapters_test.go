package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"switchboard/channels/meta"
	"switchboard/queue/redistest"
)

func TestHandshake(t *testing.T) {
	t.Parallel()
	g := startGateway(t, options{})
	for _, tc := range []struct {
		platform, channel string
	}{{"whatsapp", chClosed}, {"messenger", chFB}} {
		q := url.Values{"hub.mode": {"subscribe"}, "hub.challenge": {"1158201444"}, "hub.verify_token": {g.Secrets[tc.channel+".verify"]}}
		status, body := g.get(t, "/webhooks/"+tc.platform+"?"+q.Encode(), "")
		if status != http.StatusOK || string(body) != "1158201444" {
			t.Errorf("%s handshake with the verify token: %d %q, want 200 %q", tc.platform, status, body, "1158201444")
		}
		q.Set("hub.verify_token", "wrong-"+g.Secrets[tc.channel+".verify"])
		if status, body := g.get(t, "/webhooks/"+tc.platform+"?"+q.Encode(), ""); status != http.StatusForbidden {
			t.Errorf("%s handshake with a wrong token: %d %q, want 403", tc.platform, status, body)
		}
	}
	// Another channel's token does not verify a different platform.
	q := url.Values{"hub.mode": {"subscribe"}, "hub.challenge": {"7"}, "hub.verify_token": {g.Secrets[chFB+".verify"]}}
	if status, _ := g.get(t, "/webhooks/whatsapp?"+q.Encode(), ""); status != http.StatusForbidden {
		t.Errorf("whatsapp handshake with the messenger channel's token: %d, want 403", status)
	}
}

// errorJSON checks body is {"error": {"code": ..., "message": ...}}.
func errorJSON(t *testing.T, what string, body []byte) {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Errorf("%s: body %q is not a JSON error", what, body)
	}
}

func TestWebhookRejections(t *testing.T) {
	t.Parallel()
	g := startGateway(t, options{})
	u := g.newUser(chOpen)
	good, _ := u.body("hello", "", "")
	secret := g.Secrets[chOpen+".app"]
	post := func(body []byte, sig string) (int, []byte) {
		h := http.Header{}
		if sig != "" {
			h.Set(meta.SignatureHeader, sig)
		}
		return g.do(t, http.MethodPost, "/webhooks/whatsapp", "", h, body)
	}
	wrongObject := bytes.Replace(good, []byte(`"whatsapp_business_account"`), []byte(`"page"`), 1)
	huge := append(append([]byte(`{"object":"whatsapp_business_account","entry":[],"pad":"`), bytes.Repeat([]byte("x"), 4<<20)...), `"}`...)
	for _, tc := range []struct {
		name   string
		body   []byte
		sig    string
		status int
	}{
		{"unsigned", good, "", http.StatusUnauthorized},
		{"wrongly_signed", good, meta.Sign(good, "not-"+secret), http.StatusUnauthorized},
		{"signed_by_another_platform", good, meta.Sign(good, g.Secrets[chFB+".app"]), http.StatusUnauthorized},
		{"malformed_json", []byte(`{"object":"whatsapp_business_account","entry":[`), meta.Sign([]byte(`{"object":"whatsapp_business_account","entry":[`), secret), http.StatusBadRequest},
		{"wrong_object", wrongObject, meta.Sign(wrongObject, secret), http.StatusBadRequest},
		{"over_4_MiB", huge, meta.Sign(huge, secret), http.StatusRequestEntityTooLarge},
	} {
		status, body := post(tc.body, tc.sig)
		if status != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, status, body, tc.status)
			continue
		}
		errorJSON(t, tc.name, body)
	}
	// Nothing rejected reached the engine.
	if sends := g.Graph.Requests(); len(sends) != 0 {
		t.Errorf("rejected webhooks caused %d sends", len(sends))
	}
	m := g.metrics(t)
	for _, reason := range []string{"signature", "malformed", "too_large"} {
		if v, _ := metricValue(m, "switchboard_webhooks_rejected_total", map[string]string{"platform": "whatsapp", "reason": reason}); v < 1 {
			t.Errorf("/metrics does not count a rejection for %s", reason)
		}
	}
	// The same body, well signed, is accepted and answered.
	if status, body := post(good, meta.Sign(good, secret)); status != http.StatusOK {
		t.Fatalf("good webhook: %d %s", status, body)
	}
	u.Receives(t, txtGreeting)
}

func TestWebhookUnknownAccount(t *testing.T) {
	t.Parallel()
	g := startGateway(t, options{})
	u := g.newUser(chOpen)
	body, _ := u.body("hello", "", "")
	body = bytes.ReplaceAll(body, []byte(channelInfos[chOpen].account), []byte("999999999999999"))
	if status, resp := g.postWebhook(t, chOpen, body); status != http.StatusOK {
		t.Fatalf("webhook for an unknown phone_number_id: %d %s, want 200", status, resp)
	}
	eventually(t, "the unknown account counted", func() bool {
		v, _ := metricValue(g.metrics(t), "switchboard_webhook_unknown_account_events_total", map[string]string{"platform": "whatsapp"})
		return v == 1
	})
	// The gateway goes on: a known account's message is answered, and the
	// unknown one's never was.
	u.Says(t, "hello")
	u.Receives(t, txtGreeting)
	if n := len(g.Graph.To(u.ID)); n != 1 {
		t.Errorf("%d sends to the user, want 1 (the unknown account's message must be dropped)", n)
	}
}

// TestWebhookRedelivery: Meta delivers at least once; the same webhook
// posted five times at once is answered once and recorded once.
func TestWebhookRedelivery(t *testing.T) {
	t.Parallel()
	g := startGateway(t, options{})
	u := g.newUser(chOpen)
	body, eventID := u.body("hours", "", "")
	var wg sync.WaitGroup
	statuses := make([]int, 5)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i], _ = g.postWebhook(t, chOpen, body)
		}()
	}
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusOK {
			t.Errorf("post %d: %d, want 200", i, s)
		}
	}
	u.Receives(t, txtHours)
	u.sync(t) // a second message, answered: the first is fully processed
	if n := u.Count(txtHours); n != 2 {
		t.Errorf("%d answers %q, want 2 (one per distinct message)", n, txtHours)
	}
	if n := u.Count(txtGreeting); n != 1 {
		t.Errorf("%d greetings, want 1", n)
	}
	c := g.conversation(t, u.ConversationID())
	n := 0
	for _, e := range c.Transcript {
		if e.EventID == eventID {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the redelivered event is %d times in the transcript, want 1: %+v", n, c.Transcript)
	}
	// A later redelivery, after processing, is dropped and counted too.
	if status, resp := g.postWebhook(t, chOpen, body); status != http.StatusOK {
		t.Fatalf("late redelivery: %d %s, want 200", status, resp)
	}
	if v, _ := metricValue(g.metrics(t), "switchboard_webhook_duplicate_events_total", map[string]string{"platform": "whatsapp"}); v < 1 {
		t.Errorf("/metrics counts no duplicate after a late redelivery")
	}
	u.sync(t)
	if n := u.Count(txtHours); n != 3 {
		t.Errorf("%d answers %q after a late redelivery and a third message, want 3", n, txtHours)
	}
}

// TestRedisOutage runs the gateway on a Redis of its own: with Redis down,
// webhooks answer 503 (Meta retries) and /readyz 503; once it is back the
// same webhook is accepted and answered.
func TestRedisOutage(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	t.Logf("using %s", r)
	g := startGateway(t, options{Redis: r})
	u := g.newUser(chOpen)
	u.Says(t, "hello")
	u.Receives(t, txtGreeting)
	// The worker answers before it lets go of the conversation: stopping
	// Redis in between would leave the lock held for its lifetime (2 min).
	rdb := r.Client()
	eventually(t, "the conversation's lock released", func() bool { return len(redistest.Keys(t, rdb, "*lock:*")) == 0 })

	r.Stop()
	// Another user writes during the outage: a worker of u's conversation
	// that the outage caught mid-way (a sweep, a retry) keeps its lock
	// until the lock expires (2 min), which would only make u's answer late.
	u = g.newUser(chOpen)
	body, _ := u.body("hours", "", "")
	eventually(t, "/readyz 503 with Redis down", func() bool {
		status, _ := g.get(t, "/readyz", "")
		return status == http.StatusServiceUnavailable
	})
	status, resp := g.postWebhook(t, chOpen, body)
	if status != http.StatusServiceUnavailable {
		t.Fatalf("webhook with Redis down: %d %s, want 503", status, resp)
	}
	errorJSON(t, "webhook with Redis down", resp)

	r.Restart()
	eventually(t, "the webhook accepted once Redis is back", func() bool {
		status, _ := g.postWebhook(t, chOpen, body)
		return status == http.StatusOK
	})
	if status, _ := g.get(t, "/readyz", ""); status != http.StatusOK {
		t.Errorf("/readyz with Redis back: %d, want 200", status)
	}
	u.Receives(t, txtHours)
	g.Stop(t)
}
