package bots

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"switchboard/channels"
	"switchboard/internal/outbound"
	"switchboard/routing"
)

const testSecret = "s3cret"

var testNow = time.Unix(1763762043, 0)

var testRequest = Request{
	ConversationID: "c1",
	Channel:        "wa-main",
	User:           channels.User{ID: "5511987654321", Name: "Ana Souza", Phone: "5511987654321"},
	Message:        Message{Kind: channels.KindText, Text: "what are your hours?"},
	Variables:      map[string]string{"order": "1234"},
	NewSession:     true,
}

// newBot starts a bot server answering with handler and returns a client.
func newBot(t *testing.T, timeout time.Duration, handler http.HandlerFunc) *HTTPBot {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	bot, err := NewHTTP(HTTPConfig{URL: srv.URL, Secret: testSecret, Timeout: timeout, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	return bot
}

// answer replies with a fixed status and body.
func answer(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

func TestHTTPBotSendsTheContractsRequest(t *testing.T) {
	var gotBody map[string]any
	var gotErr error
	bot := newBot(t, 0, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		gotErr = VerifySignature([]byte(testSecret), r.Header, body, testNow.Add(time.Minute))
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("got %s with Content-Type %q", r.Method, r.Header.Get("Content-Type"))
		}
		if err := json.Unmarshal(body, &gotBody); err != nil {
			t.Errorf("request body: %v", err)
		}
		io.WriteString(w, `{}`)
	})
	if _, err := bot.Reply(context.Background(), testRequest); err != nil {
		t.Fatal(err)
	}
	if gotErr != nil {
		t.Errorf("VerifySignature on the bot's side: %v", gotErr)
	}
	want := map[string]any{
		"conversation_id": "c1",
		"channel":         "wa-main",
		"user":            map[string]any{"id": "5511987654321", "name": "Ana Souza"},
		"message":         map[string]any{"kind": "text", "text": "what are your hours?", "payload": ""},
		"variables":       map[string]any{"order": "1234"},
		"new_session":     true,
	}
	if diff := cmp.Diff(want, gotBody); diff != "" {
		t.Errorf("request body (-want +got):\n%s", diff)
	}
}

func TestHTTPBotSignature(t *testing.T) {
	var header http.Header
	var body []byte
	bot := newBot(t, 0, func(w http.ResponseWriter, r *http.Request) {
		header = r.Header.Clone()
		body, _ = io.ReadAll(r.Body)
		io.WriteString(w, `{}`)
	})
	req := testRequest
	req.Variables = nil
	if _, err := bot.Reply(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), `"variables":{}`) {
		t.Errorf("nil variables are not sent as {}: %s", body)
	}
	if got, want := header.Get(HeaderTimestamp), strconv.FormatInt(testNow.Unix(), 10); got != want {
		t.Errorf("%s = %q, want %q", HeaderTimestamp, got, want)
	}
	if got, want := header.Get(HeaderSignature), Signature([]byte(testSecret), testNow.Unix(), body); got != want || !strings.HasPrefix(got, "sha256=") || len(got) != len("sha256=")+64 {
		t.Errorf("%s = %q, want %q", HeaderSignature, got, want)
	}

	withHeader := func(name, value string) http.Header {
		h := header.Clone()
		h.Set(name, value)
		return h
	}
	tests := []struct {
		name   string
		secret string
		header http.Header
		body   string
		now    time.Time
		want   error
	}{
		{"valid", testSecret, header, string(body), testNow, nil},
		{"valid within the tolerance", testSecret, header, string(body), testNow.Add(-SignatureTolerance), nil},
		{"wrong secret", "other", header, string(body), testNow, ErrBadSignature},
		{"tampered body", testSecret, header, strings.Replace(string(body), "hours", "prices", 1), testNow, ErrBadSignature},
		{"tampered timestamp", testSecret, withHeader(HeaderTimestamp, strconv.FormatInt(testNow.Unix()+1, 10)), string(body), testNow, ErrBadSignature},
		{"missing signature", testSecret, withHeader(HeaderSignature, ""), string(body), testNow, ErrBadSignature},
		{"replayed later", testSecret, header, string(body), testNow.Add(SignatureTolerance + time.Second), ErrStaleTimestamp},
		{"missing timestamp", testSecret, withHeader(HeaderTimestamp, ""), string(body), testNow, ErrStaleTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := VerifySignature([]byte(tt.secret), tt.header, []byte(tt.body), tt.now); !errors.Is(err, tt.want) {
				t.Errorf("VerifySignature() = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSignatureKnownValue(t *testing.T) {
	// printf '1763762043.{}' | openssl dgst -sha256 -hmac s3cret
	const want = "sha256=1528e35427d7fd4b407128d3dcdb28a7bd6da741e47147f46ef5c29872600e90"
	if got := Signature([]byte(testSecret), testNow.Unix(), []byte("{}")); got != want {
		t.Errorf("Signature() = %s, want %s", got, want)
	}
}

func TestHTTPBotReplies(t *testing.T) {
	tests := []struct {
		name string
		body string
		want routing.BotReply
	}{
		{
			name: "messages with choices",
			body: `{"messages":[{"text":"We open at 9:00."},{"text":"Anything else?","choices":[{"id":"more","title":"Yes"}]}]}`,
			want: routing.BotReply{Messages: []routing.BotMessage{
				{Text: "We open at 9:00."},
				{Text: "Anything else?", Choices: []channels.Choice{{ID: "more", Title: "Yes"}}},
			}},
		},
		{
			name: "handoff with variables, a note and a preferred agent",
			body: `{"messages":[{"text":"Let me find someone."}],"handoff":true,"variables":{"topic":"billing"},"note":"angry","agent":"ana","extra":1}`,
			want: routing.BotReply{
				Messages:  []routing.BotMessage{{Text: "Let me find someone."}},
				Handoff:   true,
				Variables: map[string]string{"topic": "billing"},
				Note:      "angry",
				Agent:     "ana",
			},
		},
		{name: "an empty answer says nothing", body: `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bot := newBot(t, 0, answer(http.StatusOK, tt.body))
			got, err := bot.Reply(context.Background(), testRequest)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Reply (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHTTPBotFailures(t *testing.T) {
	// The server notices the client hung up only once the body is read.
	blockUntilGone := func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	}
	tests := []struct {
		name    string
		timeout time.Duration // 0: the default
		handler http.HandlerFunc
		check   func(error) bool
	}{
		{"timeout", 50 * time.Millisecond, blockUntilGone, func(err error) bool { return errors.Is(err, context.DeadlineExceeded) }},
		{"500", 0, answer(http.StatusInternalServerError, `{}`), func(err error) bool {
			var se *StatusError
			return errors.As(err, &se) && se.StatusCode == http.StatusInternalServerError
		}},
		{"304 is not a success", 0, answer(http.StatusNotModified, ``), func(err error) bool {
			var se *StatusError
			return errors.As(err, &se) && se.StatusCode == http.StatusNotModified
		}},
		{"malformed JSON", 0, answer(http.StatusOK, `{"messages":[`), isMalformed},
		{"wrong JSON type", 0, answer(http.StatusOK, `{"messages":"hi"}`), isMalformed},
		{"message without text", 0, answer(http.StatusOK, `{"messages":[{"text":" "}]}`), isMalformed},
		{"choice without an id", 0, answer(http.StatusOK, `{"messages":[{"text":"?","choices":[{"title":"Yes"}]}]}`), isMalformed},
		{"too large", 0, answer(http.StatusOK, `{"note":"`+strings.Repeat("x", maxReplyBytes)+`"}`), isMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bot := newBot(t, tt.timeout, tt.handler)
			got, err := bot.Reply(context.Background(), testRequest)
			if !tt.check(err) {
				t.Errorf("Reply() error = %v", err)
			}
			if diff := cmp.Diff(routing.BotReply{}, got); diff != "" {
				t.Errorf("a failed Reply returned a reply:\n%s", diff)
			}
		})
	}
}

func isMalformed(err error) bool { return errors.Is(err, ErrMalformedReply) }

func TestHTTPBotNetworkError(t *testing.T) {
	srv := httptest.NewServer(answer(http.StatusOK, `{}`))
	srv.Close() // nothing listens any more
	bot, err := NewHTTP(HTTPConfig{URL: srv.URL + "/hook?api_key=k3y", Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bot.Reply(context.Background(), testRequest)
	if err == nil {
		t.Fatal("Reply() to a closed server succeeded")
	}
	if want := `http bot: Post "` + srv.URL + `": `; !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "k3y") {
		t.Errorf("Reply() error = %q, want it to start with %q and to hide the query", err, want)
	}
}

// TestHTTPBotRefusesRedirects: a bot that answers with a redirect has
// failed (the engine sends the fallback); the request, signed and holding
// the user's message, never reaches the target, and the error names the
// hosts only.
func TestHTTPBotRefusesRedirects(t *testing.T) {
	var hits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		io.WriteString(w, `{"messages":[{"text":"from the target"}]}`)
	}))
	defer target.Close()
	bot := newBot(t, 0, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/collect?token=t0k", http.StatusTemporaryRedirect)
	})
	bot.url += "/hook?api_key=k3y"

	got, err := bot.Reply(context.Background(), testRequest)
	var re *outbound.RedirectError
	targetHost := strings.TrimPrefix(target.URL, "http://")
	if !errors.As(err, &re) || re.StatusCode != http.StatusTemporaryRedirect || re.Host != targetHost {
		t.Fatalf("Reply() error = %v, want a 307 *outbound.RedirectError to %s", err, targetHost)
	}
	if diff := cmp.Diff(routing.BotReply{}, got); diff != "" {
		t.Errorf("a redirected Reply returned a reply:\n%s", diff)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the redirect target got %d requests", n)
	}

	// The engine logs the error as it is.
	var log bytes.Buffer
	slog.New(slog.NewTextHandler(&log, nil)).Warn("bot failed; sending the fallback", "err", err)
	if !strings.Contains(log.String(), "307 to "+targetHost) {
		t.Errorf("the log does not name the target's host: %s", log.String())
	}
	for _, secret := range []string{"k3y", "t0k", "/hook", "/collect"} {
		if strings.Contains(log.String(), secret) {
			t.Errorf("the log holds %q: %s", secret, log.String())
		}
	}
}

func TestNewHTTPErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  HTTPConfig
		want string
	}{
		{"relative URL", HTTPConfig{URL: "/bot?api_key=k3y", Secret: "s"}, "url [redacted URL] is not"},
		{"other scheme", HTTPConfig{URL: "ftp://bot.example/x?api_key=k3y", Secret: "s"}, "url ftp://bot.example is not"},
		{"no secret", HTTPConfig{URL: "https://bot.example/x"}, "secret is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewHTTP(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewHTTP() error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}
