package engine

import (
	"context"
	"errors"
	"strings"

	"switchboard/channels"
	"switchboard/queue"
	"switchboard/routing"
)

// Agents' uploads: a file streamed from the agent to the platform, then
// sent as a reply by the id the platform gave it.

// UploadType is the media type a file of content type mimeType is sent
// as: image/*, audio/* and video/* as such, anything else as a document.
func UploadType(mimeType string) channels.MediaType {
	major, _, _ := strings.Cut(channels.BaseMIMEType(mimeType), "/")
	switch major {
	case "image":
		return channels.MediaImage
	case "audio":
		return channels.MediaAudio
	case "video":
		return channels.MediaVideo
	}
	return channels.MediaDocument
}

// MaxUpload is the largest file a conversation's platform takes, of any
// type; 0 for a conversation whose channel is not set up.
func (e *Engine) MaxUpload(convID string) int64 {
	ch, ok := e.setup.Load().channels[queue.ChannelOf(convID)]
	if !ok {
		return 0
	}
	var largest int64
	for _, t := range []channels.MediaType{channels.MediaImage, channels.MediaAudio, channels.MediaVideo, channels.MediaDocument} {
		if l, ok := channels.UploadLimit(ch.platform, t); ok {
			largest = max(largest, l.MaxSize)
		}
	}
	return largest
}

// Upload streams a file to the platform of a conversation the agent holds
// and returns the attachment to send it by (Reply). Before reading any of
// u.Body it checks that the agent holds the conversation
// (routing.ErrNotAssigned, ErrNotYours), that the user's window is open
// (channels.ErrWindowClosed) and that the platform takes the file
// (*channels.UnsupportedTypeError, *channels.LimitError); a body that runs
// past the limit is a *channels.LimitError too, and a platform that
// refuses the file an error of code CodeMediaFailed.
func (e *Engine) Upload(ctx context.Context, a Agent, convID string, u channels.Upload) (channels.Attachment, error) {
	rec, err := e.authorize(ctx, a, convID)
	if err != nil {
		return channels.Attachment{}, err
	}
	ch, ok := e.setup.Load().channels[rec.Channel]
	if !ok {
		return channels.Attachment{}, ErrForbidden
	}
	if err := ch.rules.CanApply(rec.Conversation, routing.Input{Kind: routing.InAgentMessage, Agent: a.ID}, e.now()); err != nil {
		return channels.Attachment{}, err
	}
	if _, err := agentOutbound(ch, rec, "", e.now()); err != nil {
		return channels.Attachment{}, err
	}
	if err := channels.CheckUpload(ch.platform, u.Type, u.MIMEType, u.Size); err != nil {
		return channels.Attachment{}, err
	}
	up, ok := ch.sender.(channels.Uploader)
	if !ok {
		return channels.Attachment{}, &Error{Code: CodeUnsupportedMedia, Message: "this channel takes no uploads"}
	}
	id, err := up.Upload(ctx, u)
	if err != nil {
		if isUploadRefusal(err) {
			return channels.Attachment{}, err
		}
		return channels.Attachment{}, &Error{Code: CodeMediaFailed, Message: "the platform did not take the file", Err: err}
	}
	return channels.Attachment{Type: string(u.Type), MediaID: id, MimeType: channels.BaseMIMEType(u.MIMEType), FileName: u.Filename}, nil
}

// isUploadRefusal: the file itself is refused (too large, wrong type),
// which the agent can fix, as opposed to the platform failing.
func isUploadRefusal(err error) bool {
	var tooLarge *channels.LimitError
	var unsupported *channels.UnsupportedTypeError
	return errors.As(err, &tooLarge) || errors.As(err, &unsupported)
}
