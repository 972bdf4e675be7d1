package channeltest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"switchboard/channels"
	"switchboard/internal/testkit"
)

// NewSender builds the Sender under test, talking to graphURL with token.
type NewSender func(graphURL, token string) channels.Sender

const token = "test-token"

// RunSender runs the sender suite against a testkit.Graph: text, reply
// choices, a numbered-list fallback, long texts split into several sends,
// mark-read, typing indicators, the Bearer header, partial failures, the
// classification of Graph errors (5xx, rate limits, closed window, auth,
// network, cancelled ctx) and, through RunUploader, uploads. platform is
// the adapter's.
func RunSender(t *testing.T, platform channels.Platform, newSender NewSender) {
	ctx := context.Background()
	setup := func(t *testing.T) (*testkit.Graph, channels.Sender) {
		g := testkit.NewGraph(t)
		return g, newSender(g.URL, token)
	}
	t.Run("text", func(t *testing.T) {
		g, s := setup(t)
		res, err := s.Send(ctx, channels.Outbound{To: "5511987654321", Text: "hello there"})
		if err != nil {
			t.Fatal(err)
		}
		reqs := g.Requests()
		if len(reqs) != 1 {
			t.Fatalf("%d requests, want 1", len(reqs))
		}
		r := reqs[0]
		if r.Method != http.MethodPost || r.Authorization != "Bearer "+token || r.ContentType != "application/json" {
			t.Errorf("got %s with Authorization %q, Content-Type %q", r.Method, r.Authorization, r.ContentType)
		}
		if r.Text != "hello there" || r.To != "5511987654321" || r.Malformed {
			t.Errorf("sent %q to %q (malformed: %v): %s", r.Text, r.To, r.Malformed, r.Body)
		}
		if !slices.Equal(res.MessageIDs, []string{r.MessageID}) {
			t.Errorf("MessageIDs = %v, want [%s]", res.MessageIDs, r.MessageID)
		}
	})
	t.Run("choices", func(t *testing.T) {
		g, s := setup(t)
		choices := []channels.Choice{{ID: "yes", Title: "Wait"}, {ID: "no", Title: "No, thanks"}}
		if _, err := s.Send(ctx, channels.Outbound{To: "5511987654321", Text: "Wait for an agent?", Choices: choices}); err != nil {
			t.Fatal(err)
		}
		reqs := g.Requests()
		if len(reqs) != 1 {
			t.Fatalf("%d requests, want 1", len(reqs))
		}
		if reqs[0].Text != "Wait for an agent?" || !slices.Equal(reqs[0].Choices, choices) {
			t.Errorf("sent %q with choices %v, want %v: %s", reqs[0].Text, reqs[0].Choices, choices, reqs[0].Body)
		}
	})
	t.Run("numbered fallback", func(t *testing.T) {
		g, s := setup(t)
		var choices []channels.Choice
		for i := 1; i <= 20; i++ {
			choices = append(choices, channels.Choice{ID: fmt.Sprint("c", i), Title: fmt.Sprint("A rather long option ", i)})
		}
		if _, err := s.Send(ctx, channels.Outbound{To: "5511987654321", Text: "Pick one:", Choices: choices}); err != nil {
			t.Fatal(err)
		}
		text := strings.Join(sentTexts(g.Requests()), "\n")
		for _, want := range []string{"Pick one:", "1. A rather long option 1", "20. A rather long option 20"} {
			if !strings.Contains(text, want) {
				t.Errorf("%q missing from the sent text %q", want, text)
			}
		}
	})
	t.Run("long text", func(t *testing.T) {
		g, s := setup(t)
		var words []string
		for i := 0; len(strings.Join(words, " ")) < 13000; i++ {
			words = append(words, fmt.Sprintf("wörd%d", i))
		}
		res, err := s.Send(ctx, channels.Outbound{To: "5511987654321", Text: strings.Join(words, " ")})
		if err != nil {
			t.Fatal(err)
		}
		reqs := g.Requests()
		if len(reqs) < 2 || len(res.MessageIDs) != len(reqs) {
			t.Fatalf("%d requests and %d ids, want the same number, at least 2", len(reqs), len(res.MessageIDs))
		}
		if got := strings.Fields(strings.Join(sentTexts(reqs), " ")); !slices.Equal(got, words) {
			t.Errorf("the parts do not add up to the text: %d words, want %d", len(got), len(words))
		}
	})
	t.Run("mark read", func(t *testing.T) {
		g, s := setup(t)
		if _, err := s.Send(ctx, channels.Outbound{To: "5511987654321", MarkRead: "wamid.X", Text: "not sent"}); err != nil {
			t.Fatal(err)
		}
		reqs := g.Requests()
		if len(reqs) != 1 || !isRead(reqs[0], "wamid.X") || reqs[0].Typing || !reqs[0].Accepted() {
			t.Fatalf("got %+v, want one accepted mark-read call and nothing else", reqs)
		}
	})
	t.Run("typing", func(t *testing.T) {
		g, s := setup(t)
		if _, err := s.Send(ctx, channels.Outbound{To: "5511987654321", MarkRead: "wamid.X", Typing: true}); err != nil {
			t.Fatal(err)
		}
		read, typing := false, false
		for _, r := range g.Requests() {
			if r.IsMessage() || !r.Accepted() {
				t.Errorf("got %+v, want only accepted mark-read and typing calls", r)
			}
			read = read || isRead(r, "wamid.X")
			typing = typing || r.Typing
		}
		if !read || !typing {
			t.Errorf("read receipt sent: %v, typing indicator sent: %v; want both: %+v", read, typing, g.Requests())
		}
	})
	t.Run("partial failure", func(t *testing.T) {
		g, s := setup(t)
		g.Respond(func(n int, _ testkit.Send) (int, string) {
			if n == 1 {
				return 0, ""
			}
			return http.StatusInternalServerError, `{}`
		})
		res, err := s.Send(ctx, channels.Outbound{To: "5511987654321", Text: strings.Repeat("lorem ipsum ", 1000)})
		first := g.Requests()[0].MessageID
		if !channels.IsRetryable(err) || first == "" || !slices.Equal(res.MessageIDs, []string{first}) {
			t.Errorf("got %v, %v; want [%s] and a retryable error", res.MessageIDs, err, first)
		}
	})
	graphError := func(e testkit.GraphError) (int, string) { return e.Status, e.JSON() }
	for _, c := range []struct {
		name      string
		answer    func() (int, string)
		retryable bool
		reason    string
		code      int
	}{
		{"server error", func() (int, string) { return 500, `{}` }, true, "server_error", 0},
		{"unknown 5xx code", func() (int, string) { return 503, `{"error":{"message":"(#999999) ?","code":999999}}` }, true, "server_error", 999999},
		{"throughput limit", func() (int, string) { return graphError(testkit.ErrRateLimit) }, true, "rate_limited", 130429},
		{"pair rate limit", func() (int, string) { return graphError(testkit.ErrPairRateLimit) }, true, "rate_limited", 131056},
		{"HTTP 429", func() (int, string) { return 429, `` }, true, "rate_limited", 0},
		{"unknown error", func() (int, string) { return graphError(testkit.ErrServer) }, true, "server_error", 131000},
		{"whatsapp window closed", func() (int, string) { return graphError(testkit.ErrWindowClosed) }, false, "window_closed", 131047},
		{"messenger window closed", func() (int, string) { return graphError(testkit.ErrMessengerWindow) }, false, "window_closed", 10},
		{"instagram window closed", func() (int, string) { return graphError(testkit.ErrInstagramWindow) }, false, "window_closed", 10},
		{"user unreachable", func() (int, string) { return graphError(testkit.ErrUndeliverable) }, false, "user_unreachable", 131026},
		{"token expired", func() (int, string) { return graphError(testkit.ErrTokenExpired) }, false, "auth", 190},
		{"invalid parameter", func() (int, string) { return graphError(testkit.ErrInvalidParameter) }, false, "invalid_request", 100},
		{"unknown 4xx code", func() (int, string) { return 400, `{"error":{"message":"?","code":999999}}` }, false, "rejected", 999999},
		{"not JSON", func() (int, string) { return 502, `<html>bad gateway</html>` }, true, "server_error", 0},
	} {
		t.Run("classify "+c.name, func(t *testing.T) {
			g, s := setup(t)
			status, body := c.answer()
			g.Respond(testkit.Always(status, body))
			_, err := s.Send(ctx, channels.Outbound{To: "5511987654321", Text: "hi"})
			var se *channels.SendError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *channels.SendError", err)
			}
			if se.Retryable != c.retryable || se.Reason != c.reason || se.Code != c.code || se.HTTPStatus != status {
				t.Errorf("got %+v, want retryable=%v reason=%s code=%d status=%d", se, c.retryable, c.reason, c.code, status)
			}
			if se.Platform == "" || se.Message == "" && body != "" {
				t.Errorf("platform or message missing: %+v", se)
			}
		})
	}
	t.Run("classify pair rate limit retry after", func(t *testing.T) {
		g, s := setup(t)
		g.FailNext(1, testkit.ErrPairRateLimit)
		_, err := s.Send(ctx, channels.Outbound{To: "5511987654321", Text: "hi"})
		if se := (*channels.SendError)(nil); !errors.As(err, &se) || se.RetryAfter <= 0 {
			t.Errorf("got %v, want a RetryAfter", err)
		}
	})
	t.Run("network error", func(t *testing.T) {
		s := newSender("http://127.0.0.1:1", token)
		_, err := s.Send(ctx, channels.Outbound{To: "5511987654321", Text: "hi"})
		var se *channels.SendError
		if !errors.As(err, &se) || !se.Retryable || se.Reason != "network" {
			t.Errorf("got %v, want a retryable network SendError", err)
		}
	})
	t.Run("upload", func(t *testing.T) { RunUploader(t, platform, newSender) })
	t.Run("cancelled context", func(t *testing.T) {
		g, s := setup(t)
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		_, err := s.Send(cancelled, channels.Outbound{To: "5511987654321", Text: "hi"})
		if err == nil || channels.IsRetryable(err) || !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want a non-retryable context.Canceled", err)
		}
		if n := len(g.Requests()); n != 0 {
			t.Errorf("%d requests, want none", n)
		}
	})
}

// isRead reports whether r is a read receipt of message id: a WhatsApp
// mark-read of that id, or a MARK_SEEN sender action (which marks the whole
// thread).
func isRead(r testkit.Send, id string) bool {
	if r.Kind == testkit.KindRead {
		return r.ReplyTo == id
	}
	return strings.EqualFold(r.SenderAction, "mark_seen")
}

// sentTexts returns the text of each request.
func sentTexts(reqs []testkit.Send) []string {
	var out []string
	for _, r := range reqs {
		out = append(out, r.Text)
	}
	return out
}
