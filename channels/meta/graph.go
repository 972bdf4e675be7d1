package meta

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"switchboard/channels"
	"switchboard/internal/outbound"
)

// SenderConfig configures the Sender of any of the three platforms. The zero
// value of each optional field means its default.
type SenderConfig struct {
	// GraphURL is the Graph API base, version included, e.g.
	// "https://graph.facebook.com/v24.0". Tests point it at a fake.
	GraphURL string
	// AccessToken is sent as "Authorization: Bearer <token>": a system-user
	// token for WhatsApp, a Page token for Messenger and Instagram.
	AccessToken string
	// AccountID is the WhatsApp phone_number_id messages are sent from (the
	// {id}/messages path). Messenger and Instagram send to /me/messages,
	// where the Page token names the account, and do not use it.
	AccountID string
	// HTTPClient is the client used for every call, uploads included; nil
	// means one with a 30 s timeout, and for uploads one with a 10 min
	// timeout (a 100 MB file takes minutes on a slow link).
	HTTPClient *http.Client
	// DownloadClient fetches media files (Download), which may be large:
	// it should bound the connect and each read, not the whole transfer.
	// nil means a client that bounds the connect, the handshake, the
	// response headers and each read (30 s idle) and refuses redirects, the
	// token going with the request.
	DownloadClient *http.Client
	// RateLimit caps the Graph calls a Sender makes, in calls per second,
	// shared by every Send on it: 0 means the platform default, a negative
	// value means no limit. Send waits for its turn (or for ctx).
	RateLimit float64
}

// maxResponse caps how much of a Graph API answer is read.
const maxResponse = 1 << 20

// Client calls the Graph API for one account: JSON POSTs, rate-limited, and
// media look-ups and downloads. Every failure from the platform or the
// network is a *channels.SendError, classified once, here.
type Client struct {
	platform channels.Platform
	base     string
	token    string
	http     *http.Client
	upload   *http.Client // for uploads
	download *http.Client // for media downloads
	limiter  *rate.Limiter
}

// uploadTimeout bounds an upload made with the default HTTP client.
const uploadTimeout = 10 * time.Minute

// NewClient returns a Client for platform; defaultRate is the platform's
// calls per second used when cfg.RateLimit is 0.
func NewClient(platform channels.Platform, cfg SenderConfig, defaultRate float64) *Client {
	hc, upload := cfg.HTTPClient, cfg.HTTPClient
	if hc == nil {
		hc, upload = &http.Client{Timeout: 30 * time.Second}, &http.Client{Timeout: uploadTimeout}
	}
	download := cfg.DownloadClient
	if download == nil {
		download = outbound.NewStreamingClient(outbound.StreamOptions{})
	}
	perSecond := cfg.RateLimit
	if perSecond == 0 {
		perSecond = defaultRate
	}
	limit := rate.Inf
	if perSecond > 0 {
		limit = rate.Limit(perSecond)
	}
	return &Client{
		platform: platform,
		base:     strings.TrimRight(cfg.GraphURL, "/"),
		token:    cfg.AccessToken,
		http:     hc,
		upload:   upload,
		download: download,
		limiter:  rate.NewLimiter(limit, 1),
	}
}

// Post waits for the rate limiter, POSTs in as JSON to <GraphURL>/<path> and
// decodes a 2xx answer into out (unless out is nil). It returns a
// *channels.SendError when the platform refuses or cannot be reached, and
// ctx's error (not a SendError, hence not retryable) when ctx ends first.
func (c *Client) Post(ctx context.Context, path string, in, out any) error {
	if err := c.limiter.Wait(ctx); err != nil {
		return fmt.Errorf("%s: waiting for the rate limiter: %w", c.platform, err)
	}
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("%s: encoding request: %w", c.platform, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/"+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: building request: %w", c.platform, err)
	}
	req.Header.Set("Content-Type", "application/json")
	return c.call(c.http, req, out)
}

// Media is what the Graph API says about an uploaded media item.
type Media struct {
	ID       string `json:"id"`
	URL      string `json:"url"` // short-lived; fetch it with Download
	MimeType string `json:"mime_type"`
	SHA256   string `json:"sha256"`
	FileSize int64  `json:"file_size"`
}

// MediaURL looks up a WhatsApp media id (GET /<media-id>) and returns its
// short-lived download URL and metadata. Failures are *channels.SendError
// (a 404 is permanent); ctx's error is returned as is.
func (c *Client) MediaURL(ctx context.Context, mediaID string) (Media, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/"+url.PathEscape(mediaID), nil)
	if err != nil {
		return Media{}, fmt.Errorf("%s: building request: %w", c.platform, err)
	}
	var m Media
	if err := c.call(c.http, req, &m); err != nil {
		return Media{}, err
	}
	return m, nil
}

// Download GETs a media URL returned by MediaURL with the Bearer token, so
// the gateway can proxy the file, with SenderConfig.DownloadClient: a long
// file that keeps arriving is not cut by the send timeout. Never pass it any other URL: the token goes
// with the request. On success the caller must close the response body; a
// non-2xx answer is a *channels.SendError, with the body already closed.
func (c *Client) Download(ctx context.Context, mediaURL string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, mediaURL, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: building request: %w", c.platform, err)
	}
	resp, err := c.do(c.download, req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, c.refused(resp)
	}
	return resp, nil
}

// call sends req with hc and decodes a 2xx JSON answer into out.
func (c *Client) call(hc *http.Client, req *http.Request, out any) error {
	resp, err := c.do(hc, req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return c.refused(resp)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return c.networkError(req.Context(), err)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		// The platform accepted the request; retrying could send it twice.
		return &channels.SendError{Platform: c.platform, HTTPStatus: resp.StatusCode, Reason: ReasonBadResponse,
			Message: "undecodable success answer: " + excerpt(raw), Err: err}
	}
	return nil
}

// do adds the token and sends req; a transport failure becomes a retryable
// SendError, or ctx's error when the context ended.
func (c *Client) do(hc *http.Client, req *http.Request) (*http.Response, error) {
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, c.networkError(req.Context(), err)
	}
	return resp, nil
}

func (c *Client) networkError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", c.platform, ctx.Err())
	}
	return &channels.SendError{Platform: c.platform, Retryable: true, Reason: ReasonNetwork, Err: err}
}

// graphError is the Graph API error body shared by the three products.
type graphError struct {
	Error struct {
		Message   string          `json:"message"`
		Type      string          `json:"type"`
		Code      int             `json:"code"`
		Subcode   int             `json:"error_subcode"`
		UserMsg   string          `json:"error_user_msg"`
		ErrorData json.RawMessage `json:"error_data"` // an object on WhatsApp, sometimes a string elsewhere
		TraceID   string          `json:"fbtrace_id"`
	} `json:"error"`
}

// refused turns a non-2xx answer into a classified SendError.
func (c *Client) refused(resp *http.Response) *channels.SendError {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	var ge graphError
	message := excerpt(raw)
	if json.Unmarshal(raw, &ge) == nil && ge.Error.Message != "" {
		message = ge.Error.Message
		var data struct {
			Details string `json:"details"`
		}
		if json.Unmarshal(ge.Error.ErrorData, &data) == nil && data.Details != "" {
			message += ": " + data.Details
		} else if ge.Error.UserMsg != "" {
			message += ": " + ge.Error.UserMsg
		}
		if ge.Error.TraceID != "" {
			message += " (fbtrace_id " + ge.Error.TraceID + ")"
		}
	}
	se := Classify(c.platform, resp.StatusCode, ge.Error.Code, ge.Error.Subcode)
	se.Message = message
	if te, ok := se.Err.(*channels.TemplateError); ok {
		te.Detail = message
	}
	if after, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && after > 0 {
		se.RetryAfter = time.Duration(after) * time.Second
	}
	return se
}

func excerpt(b []byte) string {
	const max = 200
	if len(b) > max {
		return strings.ToValidUTF8(string(b[:max]), "") + "..."
	}
	return strings.ToValidUTF8(string(b), "?")
}
