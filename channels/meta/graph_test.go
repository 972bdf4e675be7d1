package meta

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/channels"
)

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		status, code, subcode int
		retryable             bool
		reason                string
	}{
		{400, 131047, 0, false, ReasonWindowClosed},
		{400, 10, 2018278, false, ReasonWindowClosed},
		{400, 10, 2534022, false, ReasonWindowClosed},
		{400, 10, 2018108, false, ReasonUserUnreachable},
		{400, 10, 0, false, ReasonPermission},
		{403, 200, 0, false, ReasonPermission},
		{500, 3, 0, false, ReasonPermission},
		{400, 551, 0, false, ReasonUserUnreachable},
		{400, 131026, 0, false, ReasonUserUnreachable},
		{400, 130429, 0, true, ReasonRateLimited},
		{400, 131056, 0, true, ReasonRateLimited},
		{400, 80007, 0, true, ReasonRateLimited},
		{400, 4, 0, true, ReasonRateLimited},
		{400, 613, 0, true, ReasonRateLimited},
		{500, 131057, 0, true, ReasonServerError},
		{503, 2, 0, true, ReasonServerError},
		{500, 133004, 0, true, ReasonServerError},
		{500, 131016, 0, true, ReasonServerError},
		{401, 0, 0, false, ReasonAuth},
		{401, 190, 0, false, ReasonAuth},
		{400, 131008, 0, false, ReasonInvalidRequest},
		{400, 131009, 0, false, ReasonInvalidRequest},
		{404, 132001, 0, false, ReasonTemplate},
		{400, 131053, 0, false, ReasonMedia},
		{400, 131048, 0, false, ReasonPolicy},
		{400, 131050, 0, false, ReasonPolicy},
		{403, 368, 0, false, ReasonPolicy},
		{404, 0, 0, false, ReasonRejected},
		{504, 0, 0, true, ReasonServerError},
	} {
		se := Classify(channels.WhatsApp, c.status, c.code, c.subcode)
		if se.Retryable != c.retryable || se.Reason != c.reason || se.Code != c.code || se.HTTPStatus != c.status {
			t.Errorf("Classify(%d, %d/%d) = %+v, want retryable=%v reason=%s", c.status, c.code, c.subcode, se, c.retryable, c.reason)
		}
	}
	if se := Classify(channels.WhatsApp, 400, 131056, 0); se.RetryAfter != 6*time.Second {
		t.Errorf("pair rate limit RetryAfter = %v, want 6s", se.RetryAfter)
	}
}

func TestClientRetryAfterHeader(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	c := NewClient(channels.Messenger, SenderConfig{GraphURL: srv.URL, AccessToken: "tok"}, 0)
	err := c.Post(context.Background(), "me/messages", map[string]string{}, nil)
	var se *channels.SendError
	if !errors.As(err, &se) || !se.Retryable || se.RetryAfter != 30*time.Second {
		t.Errorf("got %v, want a retryable error with RetryAfter 30s", err)
	}
}

func TestClientRateLimit(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		io.WriteString(w, `{}`)
	}))
	defer srv.Close()
	c := NewClient(channels.WhatsApp, SenderConfig{GraphURL: srv.URL, RateLimit: 0.001}, 80)
	if err := c.Post(context.Background(), "1/messages", struct{}{}, nil); err != nil {
		t.Fatal(err)
	}
	// The next call would have to wait ~17 minutes: it must give up at once
	// on a context that ends sooner, without calling the platform.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := c.Post(ctx, "1/messages", struct{}{}, nil)
	if err == nil || channels.IsRetryable(err) || calls.Load() != 1 {
		t.Errorf("got %v after %d calls, want a non-retryable error and 1 call", err, calls.Load())
	}
}

func TestClientMedia(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":{"message":"Invalid OAuth access token","type":"OAuthException","code":190}}`)
			return
		}
		switch r.URL.Path {
		case "/v24.0/1003383421387256":
			io.WriteString(w, `{"messaging_product":"whatsapp","url":"`+srv.URL+`/file/1","mime_type":"image/jpeg","sha256":"abc","file_size":3,"id":"1003383421387256"}`)
		case "/file/1":
			w.Header().Set("Content-Type", "image/jpeg")
			io.WriteString(w, "JPG")
		default:
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error":{"message":"Unsupported get request","code":100,"error_subcode":33}}`)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	c := NewClient(channels.WhatsApp, SenderConfig{GraphURL: srv.URL + "/v24.0/", AccessToken: "tok"}, 0)

	m, err := c.MediaURL(ctx, "1003383421387256")
	if err != nil || m.URL != srv.URL+"/file/1" || m.MimeType != "image/jpeg" || m.FileSize != 3 {
		t.Fatalf("MediaURL = %+v, %v", m, err)
	}
	resp, err := c.Download(ctx, m.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "JPG" || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Errorf("Download = %q %q", body, resp.Header.Get("Content-Type"))
	}

	var se *channels.SendError
	if _, err := c.MediaURL(ctx, "missing"); !errors.As(err, &se) || se.Retryable || se.Reason != ReasonInvalidRequest {
		t.Errorf("missing media: got %v", err)
	}
	if _, err := c.Download(ctx, srv.URL+"/nothing"); !errors.As(err, &se) || se.HTTPStatus != 404 {
		t.Errorf("missing file: got %v", err)
	}
	bad := NewClient(channels.WhatsApp, SenderConfig{GraphURL: srv.URL + "/v24.0", AccessToken: "bad"}, 0)
	if _, err := bad.MediaURL(ctx, "1003383421387256"); !errors.As(err, &se) || se.Reason != ReasonAuth {
		t.Errorf("bad token: got %v", err)
	}
}

func TestClientBadSuccessBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `<html>`)
	}))
	defer srv.Close()
	c := NewClient(channels.Messenger, SenderConfig{GraphURL: srv.URL}, 0)
	var out struct{ MessageID string }
	err := c.Post(context.Background(), "me/messages", struct{}{}, &out)
	var se *channels.SendError
	if !errors.As(err, &se) || se.Retryable || se.Reason != ReasonBadResponse {
		t.Errorf("got %v, want a permanent bad_response (the message may have gone)", err)
	}
}

func TestTimestamp(t *testing.T) {
	for in, want := range map[string]time.Time{
		`"1760000000"`:    time.Unix(1760000000, 0).UTC(),
		`1760000000`:      time.Unix(1760000000, 0).UTC(),
		`1760000000123`:   time.UnixMilli(1760000000123).UTC(),
		`"1760000000123"`: time.UnixMilli(1760000000123).UTC(),
		`"soon"`:          {},
		`null`:            {},
		`-5`:              {},
		`1e300`:           {},
		`270000000000`:    {}, // seconds, in the year 10525
	} {
		var ts Timestamp
		if err := ts.UnmarshalJSON([]byte(in)); err != nil || !ts.Time.Equal(want) {
			t.Errorf("Timestamp(%s) = %v, %v; want %v", in, ts.Time, err, want)
		}
	}
}

// roundTripFunc is an http.RoundTripper from a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Downloads use their own client, not the send client and its total
// timeout: a large file that keeps arriving is not cut. By default it has
// no total timeout and refuses redirects (the token goes with the request).
func TestDownloadUsesTheDownloadClient(t *testing.T) {
	var redirected atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { redirected.Add(1) }))
	defer target.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, target.URL+"/elsewhere", http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "video/mp4")
		io.WriteString(w, "MP4")
	}))
	defer srv.Close()
	sendOnly := &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
		return nil, errors.New("the send client was used for a download")
	})}
	ctx := context.Background()

	c := NewClient(channels.WhatsApp, SenderConfig{GraphURL: srv.URL, AccessToken: "tok", HTTPClient: sendOnly}, 0)
	if c.download.Timeout != 0 {
		t.Errorf("default download client Timeout = %s, want none (idle timeouts instead)", c.download.Timeout)
	}
	resp, err := c.Download(ctx, srv.URL+"/file")
	if err != nil {
		t.Fatalf("Download: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "MP4" {
		t.Errorf("Download = %q", body)
	}
	if _, err := c.Download(ctx, srv.URL+"/moved"); err == nil || redirected.Load() != 0 {
		t.Errorf("redirected download: err %v, target reached %d times; want an error and 0", err, redirected.Load())
	}

	var used atomic.Int32
	own := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		used.Add(1)
		return http.DefaultTransport.RoundTrip(r)
	})}
	c = NewClient(channels.WhatsApp, SenderConfig{GraphURL: srv.URL, AccessToken: "tok", HTTPClient: sendOnly, DownloadClient: own}, 0)
	resp, err = c.Download(ctx, srv.URL+"/file")
	if err != nil || used.Load() != 1 {
		t.Fatalf("Download with DownloadClient: %v, client used %d times", err, used.Load())
	}
	resp.Body.Close()
}
