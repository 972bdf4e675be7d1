package meta

import (
	"context"
	"strings"

	"switchboard/channels"
)

// Messenger and Instagram Send API limits.
const (
	MaxQuickReplies      = 13   // quick replies per message
	MaxQuickReplyTitle   = 20   // characters in a quick reply title
	MaxQuickReplyPayload = 1000 // bytes in a quick reply payload (Choice.ID)
)

// MessagingSender sends through the Send API that Messenger and Instagram
// share (POST <graph>/me/messages). It implements channels.Sender.
type MessagingSender struct {
	client *Client
	limit  TextLimit
}

// NewMessagingSender returns a sender for platform whose texts are split to
// limit and whose calls are paced at cfg.RateLimit (defaultRate when 0).
func NewMessagingSender(platform channels.Platform, cfg SenderConfig, limit TextLimit, defaultRate float64) *MessagingSender {
	return &MessagingSender{client: NewClient(platform, cfg, defaultRate), limit: limit}
}

type sendRequest struct {
	Recipient     recipient    `json:"recipient"`
	MessagingType string       `json:"messaging_type,omitempty"`
	Tag           string       `json:"tag,omitempty"`
	SenderAction  string       `json:"sender_action,omitempty"`
	Message       *sendMessage `json:"message,omitempty"`
}

type recipient struct {
	ID string `json:"id"`
}

type sendMessage struct {
	Text         string          `json:"text,omitempty"`
	Attachment   *sendAttachment `json:"attachment,omitempty"`
	QuickReplies []quickReply    `json:"quick_replies,omitempty"`
	Metadata     string          `json:"metadata,omitempty"`
}

type sendAttachment struct {
	Type    string `json:"type"`
	Payload struct {
		URL        string `json:"url"`
		IsReusable bool   `json:"is_reusable"`
	} `json:"payload"`
}

type quickReply struct {
	ContentType string `json:"content_type"`
	Title       string `json:"title"`
	Payload     string `json:"payload"`
}

type sendResponse struct {
	MessageID string `json:"message_id"`
}

// Send implements channels.Sender.
//
// MarkRead sends the MARK_SEEN sender action. Otherwise an attachment goes
// first (by URL; its caption follows as text when msg.Text is empty), then
// the text, split to the platform's limit, one request per part. Choices
// become quick replies on the last part when there are at most 13, each
// title fits 20 characters and id 1000, and there is a text; else they are
// appended to the text as a numbered list (see NumberedChoices). Every
// message is sent with messaging_type RESPONSE, or MESSAGE_TAG and the
// HUMAN_AGENT tag when msg.HumanAgent, and msg.Ref as metadata.
//
// Failures are *channels.SendError (ctx's error when it ends first); when a
// later part fails, the result still lists the ids of the parts sent.
func (s *MessagingSender) Send(ctx context.Context, msg channels.Outbound) (channels.SendResult, error) {
	var res channels.SendResult
	if msg.MarkRead != "" {
		req := sendRequest{Recipient: recipient{msg.To}, SenderAction: "MARK_SEEN"}
		return res, s.client.Post(ctx, "me/messages", req, nil)
	}
	send := func(m *sendMessage) error {
		req := sendRequest{Recipient: recipient{msg.To}, MessagingType: "RESPONSE", Message: m}
		if msg.HumanAgent {
			req.MessagingType, req.Tag = "MESSAGE_TAG", "HUMAN_AGENT"
		}
		m.Metadata = msg.Ref
		var out sendResponse
		if err := s.client.Post(ctx, "me/messages", req, &out); err != nil {
			return err
		}
		res.MessageIDs = append(res.MessageIDs, out.MessageID)
		return nil
	}
	text := msg.Text
	if a := msg.Attachment; a != nil {
		att := &sendAttachment{Type: attachmentType(a.Type)}
		att.Payload.URL, att.Payload.IsReusable = a.URL, true
		if err := send(&sendMessage{Attachment: att}); err != nil {
			return res, err
		}
		if text == "" {
			text = a.Caption
		}
	}
	quick := quickReplies(text, msg.Choices)
	if quick == nil && len(msg.Choices) > 0 {
		text = NumberedChoices(text, msg.Choices)
	}
	if text == "" {
		return res, nil
	}
	parts := s.limit.Split(text)
	for i, part := range parts {
		m := &sendMessage{Text: part}
		if i == len(parts)-1 {
			m.QuickReplies = quick
		}
		if err := send(m); err != nil {
			return res, err
		}
	}
	return res, nil
}

// quickReplies returns choices as quick replies, or nil when they cannot all
// be shown as such.
func quickReplies(text string, choices []channels.Choice) []quickReply {
	if text == "" || len(choices) == 0 || len(choices) > MaxQuickReplies {
		return nil
	}
	qr := make([]quickReply, len(choices))
	for i, c := range choices {
		if c.Title == "" || (TextLimit{Max: MaxQuickReplyTitle}).Len(c.Title) > MaxQuickReplyTitle ||
			c.ID == "" || len(c.ID) > MaxQuickReplyPayload {
			return nil
		}
		qr[i] = quickReply{ContentType: "text", Title: c.Title, Payload: c.ID}
	}
	return qr
}

// attachmentType maps a channels attachment type to the Send API's.
func attachmentType(t string) string {
	switch strings.ToLower(t) {
	case "image", "sticker":
		return "image"
	case "audio", "voice":
		return "audio"
	case "video":
		return "video"
	default:
		return "file"
	}
}
