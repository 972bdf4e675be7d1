// Package outbound builds the HTTP clients the gateway uses to call
// servers it does not run (bots, notification webhooks, call providers,
// media downloads) and keeps their URLs out of logs.
//
// Every client it builds refuses redirects: a redirect answer becomes a
// *RedirectError naming the status and the target's host, and the target
// is never contacted, so headers such as API keys and request bodies such
// as phone numbers only go to the configured host. Each client bounds the
// connect, the TLS handshake and the wait for the response headers; a
// client from NewClient may bound the whole exchange, one from
// NewStreamingClient bounds each read of the body instead, so a long
// download that keeps making progress is not cut.
//
// URLs may carry secrets in their userinfo, path or query: log them with
// Redact, and errors of a client call with RedactError.
//
// outbound imports only the standard library.
package outbound

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Defaults of the options' zero (or negative) durations.
const (
	DefaultConnectTimeout        = 5 * time.Second
	DefaultTLSHandshakeTimeout   = 5 * time.Second
	DefaultResponseHeaderTimeout = 15 * time.Second
	DefaultIdleTimeout           = 30 * time.Second
)

// Options configure a client from NewClient. A zero or negative duration
// means its default.
type Options struct {
	// ConnectTimeout bounds opening the TCP connection.
	ConnectTimeout time.Duration
	// TLSHandshakeTimeout bounds the TLS handshake.
	TLSHandshakeTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for the response headers once
	// the request is written.
	ResponseHeaderTimeout time.Duration
	// Timeout bounds a whole exchange, reading the body included; zero or
	// negative means no bound beyond the request's context.
	Timeout time.Duration
}

// StreamOptions configure a client from NewStreamingClient. A zero or
// negative duration means its default.
type StreamOptions struct {
	// ConnectTimeout bounds opening the TCP connection.
	ConnectTimeout time.Duration
	// TLSHandshakeTimeout bounds the TLS handshake.
	TLSHandshakeTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for the response headers once
	// the request is written.
	ResponseHeaderTimeout time.Duration
	// IdleTimeout bounds each Read of the response body: a Read that gets
	// no data for this long fails with ErrIdleTimeout. Time the caller
	// spends between Reads (writing what it read elsewhere) does not count.
	IdleTimeout time.Duration
	// RootCAs, when set, are the certificate authorities trusted instead
	// of the system's (a test's own server).
	RootCAs *x509.CertPool
}

// NewClient returns a client for short exchanges (a JSON request and its
// answer) that refuses redirects. Build one per destination and reuse it:
// each client has its own connection pool.
func NewClient(o Options) *http.Client {
	c := &http.Client{Transport: refuseRedirects{newTransport(o.ConnectTimeout, o.TLSHandshakeTimeout, o.ResponseHeaderTimeout)}}
	if o.Timeout > 0 {
		c.Timeout = o.Timeout
	}
	return c
}

// NewStreamingClient returns a client for downloads of any length that
// refuses redirects: there is no overall timeout, but each Read of a
// response body must get data within the idle timeout. The request's
// context still bounds everything.
func NewStreamingClient(o StreamOptions) *http.Client {
	t := newTransport(o.ConnectTimeout, o.TLSHandshakeTimeout, o.ResponseHeaderTimeout)
	if o.RootCAs != nil {
		t.TLSClientConfig = &tls.Config{RootCAs: o.RootCAs, MinVersion: tls.VersionTLS12}
	}
	rt := refuseRedirects{t}
	return &http.Client{Transport: &idleTimeout{next: rt, idle: orDefault(o.IdleTimeout, DefaultIdleTimeout)}}
}

// newTransport is http.DefaultTransport's configuration with these
// timeouts; like it, it honours the HTTP(S)_PROXY environment variables.
func newTransport(connect, handshake, header time.Duration) *http.Transport {
	dialer := &net.Dialer{Timeout: orDefault(connect, DefaultConnectTimeout), KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   orDefault(handshake, DefaultTLSHandshakeTimeout),
		ResponseHeaderTimeout: orDefault(header, DefaultResponseHeaderTimeout),
		ExpectContinueTimeout: time.Second,
	}
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// RedirectError is a redirect answer the client did not follow.
type RedirectError struct {
	StatusCode int
	// Host is the redirect target's host (and port), without the rest of
	// its URL; empty when the Location header does not parse.
	Host string
}

func (e *RedirectError) Error() string {
	if e.Host == "" {
		return fmt.Sprintf("redirect not followed: HTTP %d with an unusable Location", e.StatusCode)
	}
	return fmt.Sprintf("redirect not followed: HTTP %d to %s", e.StatusCode, e.Host)
}

// refuseRedirects turns the redirects http.Client would follow into a
// *RedirectError before the client sees them. Doing it here rather than in
// http.Client.CheckRedirect keeps the original URL in the client's
// *url.Error (CheckRedirect errors carry the Location instead).
type refuseRedirects struct{ next http.RoundTripper }

func (r refuseRedirects) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err != nil || !isRedirect(resp) {
		return resp, err
	}
	rerr := &RedirectError{StatusCode: resp.StatusCode}
	if loc, err := resp.Location(); err == nil {
		rerr.Host = loc.Host
	}
	// Read a little so that the connection can be reused.
	_, _ = io.CopyN(io.Discard, resp.Body, 2<<10)
	resp.Body.Close()
	return nil, rerr
}

// isRedirect reports whether http.Client would follow resp.
func isRedirect(resp *http.Response) bool {
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return resp.Header.Get("Location") != ""
	}
	return false
}

// ErrIdleTimeout is a response body Read that got no data within the idle
// timeout of a streaming client (wrapped with the timeout's value).
var ErrIdleTimeout = errors.New("response body idle timeout")

// idleTimeout gives each request a context it cancels when a Read of the
// response body waits longer than idle.
type idleTimeout struct {
	next http.RoundTripper
	idle time.Duration
}

func (t *idleTimeout) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel(nil)
		return nil, err
	}
	b := &idleBody{body: resp.Body, ctx: ctx, cancel: cancel, idle: t.idle}
	b.timer = time.AfterFunc(t.idle, b.expire)
	b.timer.Stop()
	resp.Body = b
	return resp, nil
}

// idleBody arms its timer for the length of each Read only.
type idleBody struct {
	body   io.ReadCloser
	ctx    context.Context
	cancel context.CancelCauseFunc
	idle   time.Duration
	timer  *time.Timer
}

func (b *idleBody) expire() {
	b.cancel(fmt.Errorf("%w: no data for %s", ErrIdleTimeout, b.idle))
}

func (b *idleBody) Read(p []byte) (int, error) {
	b.timer.Reset(b.idle)
	n, err := b.body.Read(p)
	b.timer.Stop()
	if err != nil && err != io.EOF {
		// The transport reports the cancellation in its own words.
		if cause := context.Cause(b.ctx); errors.Is(cause, ErrIdleTimeout) {
			err = cause
		}
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.timer.Stop()
	err := b.body.Close()
	b.cancel(nil)
	return err
}
