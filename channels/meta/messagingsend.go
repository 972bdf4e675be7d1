package meta

import (
	"context"
	"encoding/json"
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
// share (POST <graph>/me/messages) and uploads through
// <graph>/<account>/message_attachments. It implements channels.Sender and
// channels.Uploader.
type MessagingSender struct {
	client  *Client
	limit   TextLimit
	account string // the uploads' path id: cfg.AccountID, or "me"
}

// NewMessagingSender returns a sender for platform whose texts are split to
// limit and whose calls are paced at cfg.RateLimit (defaultRate when 0).
// Uploads go to cfg.AccountID (the Page or Instagram account id) when set,
// else to "me", the account the token names.
func NewMessagingSender(platform channels.Platform, cfg SenderConfig, limit TextLimit, defaultRate float64) *MessagingSender {
	account := cfg.AccountID
	if account == "" {
		account = "me"
	}
	return &MessagingSender{client: NewClient(platform, cfg, defaultRate), limit: limit, account: account}
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
	Type    string            `json:"type"`
	Payload attachmentPayload `json:"payload"`
}

// attachmentPayload is an attachment by URL (url, is_reusable) or by the id
// of an upload (attachment_id).
type attachmentPayload struct {
	URL          string `json:"url,omitempty"`
	IsReusable   bool   `json:"is_reusable,omitempty"`
	AttachmentID string `json:"attachment_id,omitempty"`
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
// MarkRead sends the MARK_SEEN sender action (the whole thread is seen;
// the id itself is not sent) and Typing the TYPING_ON one, each a request
// of its own, MARK_SEEN first; nothing else of msg is sent then. Otherwise
// an attachment goes first (by the uploaded Attachment.MediaID as
// attachment_id, else by URL; its caption follows as text when msg.Text is
// empty), then the text, split to the platform's limit, one request per
// part. Choices become quick replies on the last part when there are at
// most 13, each title fits 20 characters and id 1000, and there is a text;
// else they are appended to the text as a numbered list (see
// NumberedChoices). Every
// message is sent with messaging_type RESPONSE, or MESSAGE_TAG and the
// HUMAN_AGENT tag when msg.HumanAgent, and msg.Ref as metadata.
//
// Failures are *channels.SendError (ctx's error when it ends first); when a
// later part fails, the result still lists the ids of the parts sent.
func (s *MessagingSender) Send(ctx context.Context, msg channels.Outbound) (channels.SendResult, error) {
	var res channels.SendResult
	if msg.MarkRead != "" || msg.Typing {
		return res, s.senderActions(ctx, msg)
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
		if a.MediaID != "" {
			att.Payload.AttachmentID = a.MediaID
		} else {
			att.Payload.URL, att.Payload.IsReusable = a.URL, true
		}
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

// senderActions sends MARK_SEEN for msg.MarkRead, then TYPING_ON for
// msg.Typing.
func (s *MessagingSender) senderActions(ctx context.Context, msg channels.Outbound) error {
	var actions []string
	if msg.MarkRead != "" {
		actions = append(actions, "MARK_SEEN")
	}
	if msg.Typing {
		actions = append(actions, "TYPING_ON")
	}
	for _, action := range actions {
		if err := s.client.Post(ctx, "me/messages", sendRequest{Recipient: recipient{msg.To}, SenderAction: action}, nil); err != nil {
			return err
		}
	}
	return nil
}

// Upload implements channels.Uploader: POST <graph>/<account>/message_attachments
// with the fields message={"attachment":{"type":...,"payload":{"is_reusable":true}}}
// and filedata; the answer's attachment_id is returned, to be sent as
// Attachment.MediaID. Errors are those of Client.Upload.
func (s *MessagingSender) Upload(ctx context.Context, u channels.Upload) (string, error) {
	message, err := json.Marshal(map[string]any{
		"attachment": map[string]any{"type": attachmentType(string(u.Type)), "payload": map[string]bool{"is_reusable": true}},
	})
	if err != nil {
		return "", err
	}
	var out struct {
		AttachmentID string `json:"attachment_id"`
	}
	if err := s.client.Upload(ctx, s.account+"/message_attachments", []Field{{"message", string(message)}}, "filedata", u, &out); err != nil {
		return "", err
	}
	if out.AttachmentID == "" {
		return "", s.client.MissingID("attachment_id")
	}
	return out.AttachmentID, nil
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
