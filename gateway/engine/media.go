package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"switchboard/channels"
	"switchboard/channels/meta"
	"switchboard/internal/outbound"
	"switchboard/queue"
)

// Media for agents: a file the user sent, served to an agent of the
// conversation's channel. Only media that appear in that conversation's
// transcript are served:
//   - WhatsApp: mediaID is the attachment's media_id. The engine looks up
//     the short-lived URL with the channel's token and streams the file;
//     the token never reaches the agent.
//   - Messenger and Instagram: attachments come with an https CDN URL
//     that needs no token; mediaID is "<entry id>.<n>" (the transcript
//     entry's id and the attachment's index, from 0). The engine streams
//     the file too, so that the console shows it from its own origin (its
//     Content Security Policy allows no other); when the CDN answers with
//     a redirect, which the client does not follow, the agent is sent to
//     the attachment's URL instead.

// Media is a file to serve: either Redirect, a URL to send the agent to,
// or Body with its type, length (-1: unknown) and file name.
type Media struct {
	Redirect    string
	Body        io.ReadCloser
	ContentType string
	Length      int64
	FileName    string
}

// mediaFetcher is what a WhatsApp sender offers to proxy inbound media.
type mediaFetcher interface {
	MediaURL(ctx context.Context, mediaID string) (meta.Media, error)
	Download(ctx context.Context, mediaURL string) (*http.Response, error)
}

// Media returns a file of a conversation's transcript. It returns
// ErrNoMedia for a file the transcript does not have or the platform no
// longer has, and an error of code CodeMediaFailed when the platform does
// not give it. The caller closes Body.
func (e *Engine) Media(ctx context.Context, a Agent, convID, mediaID string) (Media, error) {
	rec, err := e.authorize(ctx, a, convID)
	if err != nil {
		return Media{}, err
	}
	entries, err := e.convs.Transcript(ctx, rec.ID)
	if err != nil {
		return Media{}, err
	}
	att, ok := findMedia(entries, mediaID)
	if !ok {
		return Media{}, ErrNoMedia
	}
	if att.MediaID == "" {
		// Platforms give https URLs; anything else (http, javascript:) is
		// not sent to the agent's browser.
		if u, err := url.Parse(att.URL); err != nil || u.Scheme != "https" || u.Host == "" {
			return Media{}, ErrNoMedia
		}
		return e.fromCDN(ctx, att)
	}
	ch, ok := e.setup.Load().channels[rec.Channel]
	if !ok {
		return Media{}, queue.ErrNotFound
	}
	fetch, ok := ch.sender.(mediaFetcher)
	if !ok {
		return Media{}, ErrNoMedia
	}
	m, err := fetch.MediaURL(ctx, att.MediaID)
	if err != nil {
		return Media{}, mediaError(err)
	}
	resp, err := fetch.Download(ctx, m.URL)
	if err != nil {
		return Media{}, mediaError(err)
	}
	return Media{Body: resp.Body, Length: resp.ContentLength, FileName: att.FileName,
		ContentType: firstNonEmpty(resp.Header.Get("Content-Type"), m.MimeType, att.MimeType, "application/octet-stream")}, nil
}

// fromCDN streams a Messenger or Instagram attachment from its https URL.
func (e *Engine) fromCDN(ctx context.Context, att channels.Attachment) (Media, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, att.URL, nil)
	if err != nil {
		return Media{}, ErrNoMedia
	}
	resp, err := e.mediaClient.Do(req)
	var redirect *outbound.RedirectError
	switch {
	case errors.As(err, &redirect):
		return Media{Redirect: att.URL}, nil
	case err != nil:
		return Media{}, &Error{Code: CodeMediaFailed, Message: "the platform did not give the media", Err: outbound.RedactError(err)}
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone || resp.StatusCode == http.StatusForbidden:
		// CDN URLs expire: a 403 is how they say so.
		resp.Body.Close()
		return Media{}, ErrNoMedia
	case resp.StatusCode/100 != 2:
		resp.Body.Close()
		return Media{}, &Error{Code: CodeMediaFailed, Message: fmt.Sprintf("the platform's CDN answered %d", resp.StatusCode)}
	}
	return Media{Body: resp.Body, Length: resp.ContentLength, FileName: att.FileName,
		ContentType: firstNonEmpty(resp.Header.Get("Content-Type"), att.MimeType, "application/octet-stream")}, nil
}

// findMedia finds a media id among a transcript's attachments.
func findMedia(entries []queue.Entry, id string) (channels.Attachment, bool) {
	if id == "" {
		return channels.Attachment{}, false
	}
	for _, e := range entries {
		for i, at := range e.Attachments {
			if at.MediaID == id || (at.MediaID == "" && at.URL != "" && id == e.ID+"."+strconv.Itoa(i)) {
				return at, true
			}
		}
	}
	return channels.Attachment{}, false
}

// mediaError maps a Graph API failure: gone media is ErrNoMedia, anything
// else CodeMediaFailed.
func mediaError(err error) error {
	var se *channels.SendError
	if errors.As(err, &se) && se.HTTPStatus == http.StatusNotFound {
		return ErrNoMedia
	}
	return &Error{Code: CodeMediaFailed, Message: "the platform did not give the media", Err: err}
}
