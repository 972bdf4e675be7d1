package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/bots"
	"switchboard/channels"
	"switchboard/config"
	"switchboard/gateway/engine"
	"switchboard/internal/outbound"
	"switchboard/internal/testkit"
	"switchboard/queue"
	"switchboard/routing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const hookSecret = "hook-secret-test-0123456789"

var now = time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)

func notification() engine.Notification {
	since := now.Add(-5 * time.Minute)
	return engine.Notification{
		ID: "notify:wa:5511900000001:7:webhook", Event: "conversation.waiting", At: now,
		Channel: "wa", Platform: channels.WhatsApp,
		Conversation: engine.ConversationView{ID: "wa:5511900000001", Channel: "wa", Platform: channels.WhatsApp,
			User: channels.User{ID: "5511900000001", Name: "João Ñandú"}, State: routing.StateWaiting,
			Position: 2, WaitingSince: &since},
		Transcript: []queue.Entry{
			{ID: "e1", At: since, Author: routing.AuthorUser, Kind: "text", Text: "quero falar com alguém"},
			{ID: "e2", At: since, Author: routing.AuthorSystem, Kind: "message", Text: "Aguarde, por favor."},
		},
	}
}

// hook is an httptest notification webhook recording what it gets.
type hook struct {
	mu      sync.Mutex
	status  int
	headers []http.Header
	bodies  [][]byte
}

func (h *hook) start(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.headers, h.bodies = append(h.headers, r.Header.Clone()), append(h.bodies, b)
		status := h.status
		h.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func (h *hook) calls() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.bodies)
}

func webhook(url string) *config.NotifyWebhook {
	return &config.NotifyWebhook{URL: url, Secret: hookSecret, Timeout: 5 * time.Second}
}

func TestWebhookIsSignedJSON(t *testing.T) {
	h := &hook{status: http.StatusNoContent}
	srv := h.start(t)
	n := notification()
	if err := New(Options{}).Webhook(context.Background(), webhook(srv.URL+"/hooks/switchboard"), n, now); err != nil {
		t.Fatalf("Webhook: %v", err)
	}
	if h.calls() != 1 {
		t.Fatalf("%d deliveries, want 1", h.calls())
	}
	hdr, body := h.headers[0], h.bodies[0]
	if err := bots.VerifySignature([]byte(hookSecret), hdr, body, now); err != nil {
		t.Errorf("signature: %v (headers %v)", err, hdr)
	}
	if got := hdr.Get(bots.HeaderTimestamp); got != strconv.FormatInt(now.Unix(), 10) {
		t.Errorf("%s = %q, want %d", bots.HeaderTimestamp, got, now.Unix())
	}
	if hdr.Get("Content-Type") != "application/json" || hdr.Get("X-Switchboard-Notification") != n.ID {
		t.Errorf("headers = %v, want JSON and the notification id", hdr)
	}
	var got engine.Notification
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	if got.ID != n.ID || got.Event != n.Event || got.Conversation.ID != n.Conversation.ID ||
		got.Conversation.User.Name != "João Ñandú" || len(got.Transcript) != 2 || got.Transcript[0].Text != "quero falar com alguém" {
		t.Errorf("body = %s", body)
	}
	// A body signed with another secret does not verify.
	if bots.VerifySignature([]byte("another-secret-0123456789"), hdr, body, now) == nil {
		t.Errorf("the signature verifies with another secret")
	}
}

func TestWebhookFailureIsRetryableAndRedacted(t *testing.T) {
	h := &hook{status: http.StatusServiceUnavailable}
	srv := h.start(t)
	err := New(Options{}).Webhook(context.Background(), webhook(srv.URL+"/hooks?token=secret-in-query-0123"), notification(), now)
	if err == nil || queue.IsPermanent(err) {
		t.Fatalf("err = %v, want a retryable error", err)
	}
	if !strings.Contains(err.Error(), "503") || strings.Contains(err.Error(), "secret-in-query") {
		t.Errorf("err = %q, want the status without the URL's query", err)
	}

	srv.Close()
	err = New(Options{}).Webhook(context.Background(), webhook(srv.URL+"/hooks?token=secret-in-query-0123"), notification(), now)
	if err == nil || queue.IsPermanent(err) || strings.Contains(err.Error(), "secret-in-query") {
		t.Errorf("unreachable webhook: err = %v, want a retryable error without the URL's query", err)
	}
}

// A redirect is not followed: the transcript goes only to the configured
// host, and the failure is for good.
func TestWebhookRedirectIsPermanent(t *testing.T) {
	target := &hook{status: http.StatusOK}
	other := target.start(t)
	srv := httptest.NewServer(http.RedirectHandler(other.URL+"/stolen", http.StatusTemporaryRedirect))
	defer srv.Close()
	err := New(Options{}).Webhook(context.Background(), webhook(srv.URL+"/hooks?token=secret-in-query-0123"), notification(), now)
	var redirect *outbound.RedirectError
	if !queue.IsPermanent(err) || !errors.As(err, &redirect) {
		t.Fatalf("err = %v, want a permanent redirect error", err)
	}
	if strings.Contains(err.Error(), "secret-in-query") {
		t.Errorf("err = %q shows the URL's query", err)
	}
	if target.calls() != 0 {
		t.Errorf("the redirect's target got %d deliveries", target.calls())
	}
}

func TestEmailOverSTARTTLS(t *testing.T) {
	smtpSrv := testkit.StartSMTP(t, "gw", "smtp-pass-0123456789")
	m := &config.NotifyEmail{Addr: smtpSrv.Addr, Username: "gw", Password: "smtp-pass-0123456789",
		From: "gw@example.com", To: []string{"leads@example.com", "boss@example.com"},
		Subject: "[switchboard] {channel}: {event} from {user}", Timeout: 5 * time.Second}
	n := New(Options{SMTPRootCAs: smtpSrv.Roots})
	if err := n.Email(context.Background(), m, notification()); err != nil {
		t.Fatalf("Email: %v", err)
	}
	msgs := smtpSrv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d mails, want 1", len(msgs))
	}
	head, body, _ := strings.Cut(msgs[0], "\r\n\r\n")
	for _, want := range []string{"MAIL FROM:<gw@example.com>", "RCPT TO:<leads@example.com>", "RCPT TO:<boss@example.com>",
		"To: leads@example.com, boss@example.com", "Subject: =?utf-8?q?", "Content-Transfer-Encoding: quoted-printable"} {
		if !strings.Contains(head, want) {
			t.Errorf("mail head lacks %q:\n%s", want, head)
		}
	}
	text, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(body)))
	if err != nil {
		t.Fatalf("quoted-printable body: %v", err)
	}
	for _, want := range []string{"conversation.waiting on channel wa (whatsapp)", "User: João Ñandú", "(position 2)",
		"user: quero falar com alguém", "system: Aguarde, por favor."} {
		if !strings.Contains(string(text), want) {
			t.Errorf("mail text lacks %q:\n%s", want, text)
		}
	}

	// A wrong password is refused: no mail.
	m.Password = "wrong-pass-0123456789"
	if err := n.Email(context.Background(), m, notification()); err == nil {
		t.Errorf("Email with a wrong password: no error")
	}
	if got := len(smtpSrv.Messages()); got != 1 {
		t.Errorf("%d mails after a refused login, want 1", got)
	}
}
