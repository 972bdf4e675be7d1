package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"switchboard/channels"
	"switchboard/channels/meta"
	"switchboard/config"
	"switchboard/queue"
	"switchboard/routing"
)

// Media for agents.
//
// GET /api/v1/media/{conversation_id}/{media_id} serves a file the user
// sent, to an agent of the conversation's channel (403 to another). Only
// media that appear in that conversation's transcript are served:
//   - WhatsApp: media_id is the attachment's media_id. The gateway looks up
//     the short-lived URL with the channel's token and streams the file
//     with its Content-Type; the token never reaches the agent.
//   - Messenger and Instagram: attachments come with a CDN URL that needs
//     no token; media_id is "<entry id>.<n>" (the transcript entry's id and
//     the attachment's index, from 0) and the answer is a 302 redirect to
//     that URL, so the file does not pass through the gateway.

// mediaFetcher is what a WhatsApp sender offers to proxy inbound media.
type mediaFetcher interface {
	MediaURL(ctx context.Context, mediaID string) (meta.Media, error)
	Download(ctx context.Context, mediaURL string) (*http.Response, error)
}

var errNoMedia = &apiError{http.StatusNotFound, "not_found", "no such media in this conversation"}

func (a *App) media(c echo.Context) error {
	rec, err := a.authorize(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	entries, err := a.engine.store.Transcript(ctx, rec.ID)
	if err != nil {
		return err
	}
	att, ok := findMedia(entries, c.Param("media"))
	if !ok {
		return errNoMedia
	}
	if att.MediaID == "" {
		if u, err := url.Parse(att.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") {
			return errNoMedia
		}
		return c.Redirect(http.StatusFound, att.URL)
	}
	ch, ok := a.engine.channel(rec.Channel)
	if !ok {
		return queue.ErrNotFound
	}
	fetch, ok := ch.sender.(mediaFetcher)
	if !ok {
		return errNoMedia
	}
	m, err := fetch.MediaURL(ctx, att.MediaID)
	if err != nil {
		return mediaError(err)
	}
	resp, err := fetch.Download(ctx, m.URL)
	if err != nil {
		return mediaError(err)
	}
	defer resp.Body.Close()
	ctype := firstNonEmpty(resp.Header.Get("Content-Type"), m.MimeType, att.MimeType, "application/octet-stream")
	w := c.Response()
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "private, no-store")
	if resp.ContentLength >= 0 {
		w.Header().Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	}
	if att.FileName != "" {
		w.Header().Set("Content-Disposition", "inline; filename="+strconv.Quote(att.FileName))
	}
	w.WriteHeader(http.StatusOK)
	_, err = io.Copy(w, resp.Body)
	return err
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

// mediaError maps a Graph API failure: gone media is 404, anything else a
// bad gateway.
func mediaError(err error) error {
	var se *channels.SendError
	if errors.As(err, &se) && se.HTTPStatus == http.StatusNotFound {
		return errNoMedia
	}
	return &apiError{http.StatusBadGateway, "media_unavailable", "the platform did not give the media"}
}

// messageBody is an agent's message: a text, an attachment by URL, or both.
type messageBody struct {
	Text       string          `json:"text"`
	Attachment *attachmentBody `json:"attachment"`
}

type attachmentBody struct {
	Type     string `json:"type"` // image, document, video, audio
	URL      string `json:"url"`
	Caption  string `json:"caption"`
	FileName string `json:"file_name"`
}

func bindMessage(c echo.Context) (messageBody, error) {
	var b messageBody
	if err := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, 64<<10)).Decode(&b); err != nil {
		return b, errBadRequest(`body must be JSON {"text": "..."} or {"attachment": {"type": "image", "url": "https://...", "caption": "..."}}`)
	}
	if a := b.Attachment; a != nil {
		switch a.Type {
		case "image", "document", "video", "audio":
		default:
			return b, errBadRequest("attachment.type must be image, document, video or audio")
		}
		if u, err := url.Parse(a.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return b, errBadRequest("attachment.url must be an absolute http(s) URL the platform can fetch")
		}
		return b, nil
	}
	if strings.TrimSpace(b.Text) == "" {
		return b, errBadRequest("text is empty")
	}
	return b, nil
}

// ReplyMessage sends an agent's text and/or attachment to the user of a
// conversation the agent holds. It returns routing.ErrNotAssigned /
// ErrNotYours when the agent does not hold it, and
// channels.ErrWindowClosed outside the platform's window.
func (e *Engine) ReplyMessage(ctx context.Context, a *agent, convID, text string, att *channels.Attachment) (queue.Entry, error) {
	ch, ok := e.channel(queue.ChannelOf(convID))
	if !ok {
		return queue.Entry{}, queue.ErrNotFound
	}
	now := e.now()
	entry := queue.Entry{ID: queue.NewEntryID(), At: now, Author: routing.AuthorAgent, Agent: a.id, Kind: "message", Text: text}
	if att != nil {
		entry.Attachments = []channels.Attachment{*att}
		if entry.Text == "" {
			entry.Text = "[" + att.Type + "] " + firstNonEmpty(att.Caption, att.FileName)
		}
	}
	rec, err := e.store.Load(ctx, convID)
	if err != nil {
		return entry, err
	}
	out, err := agentOutbound(ch, rec, text, now)
	if err != nil {
		return entry, err
	}
	out.Attachment, out.Ref = att, entry.ID
	job := queue.SendJob{ID: queue.NewEntryID(), Channel: ch.id, Conversation: convID, Parts: []queue.SendPart{{Entry: entry.ID, Message: out}}, At: now}
	extra := &queue.Commit{Entries: []queue.Entry{entry}, Sends: []queue.SendJob{job}}
	_, err = e.decide(ctx, convID, routing.Input{Kind: routing.InAgentMessage, Agent: a.id}, "", extra, nil)
	return entry, err
}

// displayName is the user's name as agents see it: the channel's
// display_name over the conversation's variables, else the platform's.
func displayName(ch *channel, rec *queue.Record) string {
	if ch != nil && ch.cfg.DisplayName != "" {
		if name := config.RenderDisplayName(ch.cfg.DisplayName, rec.Variables); name != "" {
			return name
		}
	}
	return rec.User.Name
}
