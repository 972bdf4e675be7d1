package callprovider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/config"
	"switchboard/queue"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// provider is an httptest call provider answering status and body, and
// recording the requests it gets.
type provider struct {
	mu     sync.Mutex
	status int
	body   string
	got    []*http.Request
	bodies []string
}

func (p *provider) start(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		p.mu.Lock()
		p.got, p.bodies = append(p.got, r), append(p.bodies, string(b))
		status, body := p.status, p.body
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func (p *provider) requests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.got)
}

func callConfig(url string) *config.Call {
	return &config.Call{
		URL: url, Method: http.MethodPost, ContentType: config.ContentJSON,
		Headers:   map[string]config.Secret{"Authorization": "Bearer provider-key-0123456789"},
		Body:      `{"to":"{{phone}}","name":"{{name}}","ref":"{{conversation_id}}","channel":"{{channel}}"}`,
		ErrorPath: "error.message", Timeout: 5 * time.Second, Attempts: 3,
	}
}

var job = queue.CallJob{Key: "k1", ID: "k1.gen7", Channel: "wa", Conversation: "wa:5511900000001",
	Number: "+55 11 90000-0001", Name: `Ana "A"`}

func TestRequestIsTheTemplateWithHeadersAndIdempotencyKey(t *testing.T) {
	p := &provider{status: http.StatusCreated, body: `{"id":"call-1"}`}
	srv := p.start(t)
	res, err := New(callConfig(srv.URL+"/calls")).Request(context.Background(), job)
	if err != nil || !res.OK || res.Key != job.Key {
		t.Fatalf("Request = %+v, %v; want OK for key %s", res, err, job.Key)
	}
	r := p.got[0]
	if r.Method != http.MethodPost || r.URL.Path != "/calls" || r.Header.Get("Content-Type") != config.ContentJSON ||
		r.Header.Get("Authorization") != "Bearer provider-key-0123456789" {
		t.Errorf("request = %s %s %v", r.Method, r.URL.Path, r.Header)
	}
	// The key changes with the conversation's generation (queue.CallJob.ID).
	if got := r.Header.Get("Idempotency-Key"); got != job.ID {
		t.Errorf("Idempotency-Key = %q, want %q", got, job.ID)
	}
	var body map[string]string
	if err := json.Unmarshal([]byte(p.bodies[0]), &body); err != nil {
		t.Fatalf("body %s: %v", p.bodies[0], err)
	}
	want := map[string]string{"to": job.Number, "name": job.Name, "ref": job.Conversation, "channel": job.Channel}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("body[%s] = %q, want %q (body %s)", k, body[k], v, p.bodies[0])
		}
	}
}

func TestRefusalRelaysTheProviderMessage(t *testing.T) {
	for _, tc := range []struct {
		name, answer string
		wantError    string
		wantFailed   bool
	}{
		{"message", `{"error":{"message":" That number cannot take calls. "}}`, "That number cannot take calls.", false},
		{"no message", `{"error":{"code":17}}`, "", true},
		{"not JSON", `<html>bad request</html>`, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &provider{status: http.StatusUnprocessableEntity, body: tc.answer}
			res, err := New(callConfig(p.start(t).URL)).Request(context.Background(), job)
			if err != nil || res.OK || res.Error != tc.wantError || res.Failed != tc.wantFailed {
				t.Errorf("Request = %+v, %v; want Error %q, Failed %v", res, err, tc.wantError, tc.wantFailed)
			}
		})
	}
}

func TestServerErrorsAreRetryable(t *testing.T) {
	for _, status := range []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusTooManyRequests, http.StatusRequestTimeout} {
		p := &provider{status: status, body: `{}`}
		_, err := New(callConfig(p.start(t).URL)).Request(context.Background(), job)
		var retry *RetryError
		if !errors.As(err, &retry) || !strings.Contains(err.Error(), fmt.Sprint("HTTP ", status)) {
			t.Errorf("status %d: err = %v, want a *RetryError", status, err)
		}
	}
}

func TestNetworkErrorIsRetryableAndRedacted(t *testing.T) {
	p := &provider{status: http.StatusOK}
	srv := p.start(t)
	url := srv.URL + "/calls?api_key=secret-in-query-0123"
	srv.Close()
	_, err := New(callConfig(url)).Request(context.Background(), job)
	var retry *RetryError
	if !errors.As(err, &retry) {
		t.Fatalf("err = %v, want a *RetryError", err)
	}
	if strings.Contains(err.Error(), "secret-in-query") || strings.Contains(err.Error(), "/calls") {
		t.Errorf("error %q shows the URL's path or query", err)
	}
}

// A redirect is never followed (the request carries the number and the
// provider's key) and is a failure for good.
func TestRedirectIsNotFollowed(t *testing.T) {
	target := &provider{status: http.StatusCreated}
	other := target.start(t)
	p := &provider{status: http.StatusTemporaryRedirect}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.got = append(p.got, r)
		p.mu.Unlock()
		http.Redirect(w, r, other.URL+"/elsewhere", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	res, err := New(callConfig(srv.URL+"/calls?token=secret-in-query-0123")).Request(context.Background(), job)
	var retry *RetryError
	if err == nil || errors.As(err, &retry) || res.OK {
		t.Fatalf("Request = %+v, %v; want an error that is not retryable", res, err)
	}
	if strings.Contains(err.Error(), "secret-in-query") {
		t.Errorf("error %q shows the URL's query", err)
	}
	if p.requests() != 1 || target.requests() != 0 {
		t.Errorf("requests: provider %d, redirect target %d; want 1 and 0", p.requests(), target.requests())
	}
}
