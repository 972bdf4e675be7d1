package outbound

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// clients are the two kinds of client, with short timeouts.
var clients = map[string]func() *http.Client{
	"NewClient":          func() *http.Client { return NewClient(Options{Timeout: 5 * time.Second}) },
	"NewStreamingClient": func() *http.Client { return NewStreamingClient(StreamOptions{IdleTimeout: 5 * time.Second}) },
}

// newTarget starts a server that counts the requests it gets.
func newTarget(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		io.WriteString(w, "stolen")
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func TestRedirectsAreRefused(t *testing.T) {
	target, hits := newTarget(t)
	targetHost := strings.TrimPrefix(target.URL, "http://")
	codes := []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect}
	for name, newClient := range clients {
		for _, code := range codes {
			t.Run(name+"/"+http.StatusText(code), func(t *testing.T) {
				origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					http.Redirect(w, r, target.URL+"/collect?key=s3cret", code)
				}))
				defer origin.Close()
				resp, err := newClient().Post(origin.URL+"/hook?api_key=k3y", "application/json", strings.NewReader(`{"phone":"5511"}`))
				if err == nil {
					resp.Body.Close()
					t.Fatalf("got HTTP %d, want an error", resp.StatusCode)
				}
				var re *RedirectError
				if !errors.As(err, &re) || re.StatusCode != code || re.Host != targetHost {
					t.Fatalf("error = %v, want a *RedirectError{%d, %s}", err, code, targetHost)
				}
				if hits.Load() != 0 {
					t.Fatalf("the redirect target got %d requests", hits.Load())
				}
				// The log line names the origin's and the target's hosts only.
				want := `Post "` + origin.URL + `": redirect not followed: HTTP ` + strconv.Itoa(code) + " to " + targetHost
				if got := RedactError(err).Error(); got != want {
					t.Errorf("redacted error = %q, want %q", got, want)
				}
			})
		}
	}
}

func TestRedirectToARelativeLocationNamesTheSameHost(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/elsewhere" {
			hits.Add(1)
		}
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	}))
	defer srv.Close()
	_, err := NewClient(Options{}).Get(srv.URL)
	var re *RedirectError
	if !errors.As(err, &re) || re.Host != strings.TrimPrefix(srv.URL, "http://") || hits.Load() != 0 {
		t.Errorf("error = %v, hits = %d; want a *RedirectError to the same host and no second request", err, hits.Load())
	}
}

func TestAThreeHundredWithoutLocationIsAnAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	resp, err := NewClient(Options{}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect {
		t.Errorf("status = %d, want 307 handed to the caller", resp.StatusCode)
	}
}

func TestResponseHeaderTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	for name, c := range map[string]*http.Client{
		"NewClient":          NewClient(Options{ResponseHeaderTimeout: 200 * time.Millisecond}),
		"NewStreamingClient": NewStreamingClient(StreamOptions{ResponseHeaderTimeout: 200 * time.Millisecond}),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := c.Get(srv.URL)
			var ue *url.Error
			if !errors.As(err, &ue) || !ue.Timeout() {
				t.Errorf("error = %v, want a timeout", err)
			}
		})
	}
}

func TestClientTimeoutBoundsTheBody(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "start")
		w.(http.Flusher).Flush()
		<-release
	}))
	defer srv.Close()
	defer close(release)
	resp, err := NewClient(Options{Timeout: 200 * time.Millisecond}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, err = io.ReadAll(resp.Body)
	var ne interface{ Timeout() bool }
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("reading a stalled body: %v, want a timeout", err)
	}
}

const idle = 200 * time.Millisecond

func TestIdleTimeoutStopsAStalledBody(t *testing.T) {
	gone := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first chunk")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		close(gone)
	}))
	defer srv.Close()
	resp, err := NewStreamingClient(StreamOptions{IdleTimeout: idle}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	start := time.Now()
	got, err := io.ReadAll(resp.Body)
	if !errors.Is(err, ErrIdleTimeout) || !strings.Contains(err.Error(), idle.String()) {
		t.Fatalf("reading a stalled body: %v, want ErrIdleTimeout naming %s", err, idle)
	}
	if string(got) != "first chunk" {
		t.Errorf("read %q before the stall, want %q", got, "first chunk")
	}
	if waited := time.Since(start); waited < idle {
		t.Errorf("gave up after %s, before the idle timeout %s", waited, idle)
	}
	<-gone // the connection is closed: the server sees the client leave
}

func TestIdleTimeoutLetsASteadyBodyFinish(t *testing.T) {
	const chunks = 15
	interval := idle / 5
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for range chunks {
			<-tick.C
			io.WriteString(w, "x")
			w.(http.Flusher).Flush()
		}
	}))
	defer srv.Close()
	start := time.Now()
	resp, err := NewStreamingClient(StreamOptions{IdleTimeout: idle}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading a steady body: %v", err)
	}
	if len(got) != chunks {
		t.Errorf("read %d bytes, want %d", len(got), chunks)
	}
	if took := time.Since(start); took <= idle {
		t.Errorf("the body took %s, not longer than the idle timeout %s: the test proves nothing", took, idle)
	}
}

func TestIdleTimeoutIgnoresTimeBetweenReads(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "all of it")
	}))
	defer srv.Close()
	resp, err := NewStreamingClient(StreamOptions{IdleTimeout: idle}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	// A slow consumer: more than the idle timeout passes before the first
	// Read, which must still succeed.
	<-time.After(idle + idle/2)
	if got, err := io.ReadAll(resp.Body); err != nil || string(got) != "all of it" {
		t.Errorf("ReadAll = %q, %v", got, err)
	}
}
