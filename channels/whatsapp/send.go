package whatsapp

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"switchboard/channels"
	"switchboard/channels/meta"
)

// SenderConfig configures a Sender; AccountID is the phone_number_id. See
// meta.SenderConfig.
type SenderConfig = meta.SenderConfig

// Sender sends messages from one WhatsApp business number; it implements
// channels.Sender and channels.Uploader.
type Sender struct {
	client  *meta.Client
	account string // the phone_number_id
	path    string
}

// NewSender returns a Sender for the number cfg.AccountID.
func NewSender(cfg SenderConfig) *Sender {
	return &Sender{client: meta.NewClient(channels.WhatsApp, cfg, DefaultRateLimit), account: cfg.AccountID, path: cfg.AccountID + "/messages"}
}

// Upload implements channels.Uploader: POST <graph>/<phone_number_id>/media
// with the fields messaging_product=whatsapp, type (the MIME type) and file;
// the answer's id is returned, to be sent as Attachment.MediaID (Meta keeps
// it 30 days). Errors are those of meta.Client.Upload.
func (s *Sender) Upload(ctx context.Context, u channels.Upload) (string, error) {
	fields := []meta.Field{{Name: "messaging_product", Value: "whatsapp"}, {Name: "type", Value: channels.BaseMIMEType(u.MIMEType)}}
	var out struct {
		ID string `json:"id"`
	}
	if err := s.client.Upload(ctx, s.account+"/media", fields, "file", u, &out); err != nil {
		return "", err
	}
	if out.ID == "" {
		return "", s.client.MissingID("id")
	}
	return out.ID, nil
}

// MediaURL looks up an inbound media id (Attachment.MediaID); see
// meta.Client.MediaURL.
func (s *Sender) MediaURL(ctx context.Context, mediaID string) (meta.Media, error) {
	return s.client.MediaURL(ctx, mediaID)
}

// Download fetches a URL returned by MediaURL with the sender's token; see
// meta.Client.Download. The caller closes the response body.
func (s *Sender) Download(ctx context.Context, mediaURL string) (*http.Response, error) {
	return s.client.Download(ctx, mediaURL)
}

type request struct {
	MessagingProduct string       `json:"messaging_product"`
	RecipientType    string       `json:"recipient_type,omitempty"`
	To               string       `json:"to,omitempty"`
	Type             string       `json:"type,omitempty"`
	Callback         string       `json:"biz_opaque_callback_data,omitempty"`
	Text             *textBody    `json:"text,omitempty"`
	Interactive      *interactive `json:"interactive,omitempty"`
	Template         *template    `json:"template,omitempty"`
	Image            *mediaObject `json:"image,omitempty"`
	Audio            *mediaObject `json:"audio,omitempty"`
	Video            *mediaObject `json:"video,omitempty"`
	Document         *mediaObject `json:"document,omitempty"`
	Sticker          *mediaObject `json:"sticker,omitempty"`
	// Mark as read, with a typing indicator.
	Status          string  `json:"status,omitempty"`
	MessageID       string  `json:"message_id,omitempty"`
	TypingIndicator *typing `json:"typing_indicator,omitempty"`
}

type typing struct {
	Type string `json:"type"`
}

type textBody struct {
	PreviewURL bool   `json:"preview_url"`
	Body       string `json:"body"`
}

type interactive struct {
	Type string `json:"type"`
	Body struct {
		Text string `json:"text"`
	} `json:"body"`
	Action struct {
		Buttons  []button  `json:"buttons,omitempty"`
		Button   string    `json:"button,omitempty"`   // a list's button
		Sections []section `json:"sections,omitempty"` // a list's rows
	} `json:"action"`
}

type section struct {
	Rows []reply `json:"rows"`
}

type button struct {
	Type  string `json:"type"`
	Reply reply  `json:"reply"`
}

type template struct {
	Name     string `json:"name"`
	Language struct {
		Code string `json:"code"`
	} `json:"language"`
	Components []component `json:"components,omitempty"`
}

type component struct {
	Type       string      `json:"type"`
	Parameters []parameter `json:"parameters"`
}

type parameter struct {
	Type string `json:"type"`
	Name string `json:"parameter_name,omitempty"`
	Text string `json:"text"`
}

// mediaObject is a media message's object: by the uploaded id, else by link.
type mediaObject struct {
	ID       string `json:"id,omitempty"`
	Link     string `json:"link,omitempty"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
}

type response struct {
	Messages []struct {
		ID string `json:"id"`
	} `json:"messages"`
}

// Send implements channels.Sender.
//
// MarkRead marks that inbound message (and earlier ones) as read, with a
// typing indicator when Typing is set; Typing without MarkRead is an
// invalid_request SendError, as WhatsApp shows the indicator only with a
// read receipt. A Template is sent alone, its parameters as body
// parameters (named when Name is set); a refused template is a SendError
// wrapping a *channels.TemplateError that names it. Otherwise an
// attachment goes first (by its uploaded MediaID, else by link, with its
// caption where the type takes one, and its file name), then the text,
// split to 4096 characters, one request per part. Choices become reply
// buttons when there are at most 3, each title fits 20 characters and id
// 256, and the text fits 1024; else, with a ListButton, a list message
// when there are at most 10, each title fits 24 characters and id 200;
// else they are appended to the text as a numbered list (see
// meta.NumberedChoices).
// msg.Ref goes as biz_opaque_callback_data, which status webhooks echo.
//
// Failures are *channels.SendError (ctx's error when it ends first); when a
// later part fails, the result still lists the ids of the parts sent.
func (s *Sender) Send(ctx context.Context, msg channels.Outbound) (channels.SendResult, error) {
	var res channels.SendResult
	if msg.MarkRead != "" || msg.Typing {
		return res, s.markRead(ctx, msg)
	}
	send := func(req request) error {
		req.MessagingProduct, req.RecipientType, req.To, req.Callback = "whatsapp", "individual", recipient(msg.To), msg.Ref
		var out response
		if err := s.client.Post(ctx, s.path, req, &out); err != nil {
			return err
		}
		for _, m := range out.Messages {
			res.MessageIDs = append(res.MessageIDs, m.ID)
		}
		return nil
	}
	if t := msg.Template; t != nil {
		err := send(request{Type: "template", Template: templateOf(t)})
		if te := (*channels.TemplateError)(nil); errors.As(err, &te) {
			te.Name, te.Language = t.Name, t.Language
		}
		return res, err
	}
	if a := msg.Attachment; a != nil {
		if err := send(mediaRequest(a)); err != nil {
			return res, err
		}
	}
	if buttons := replyButtons(msg.Text, msg.Choices); buttons != nil {
		return res, send(request{Type: "interactive", Interactive: buttons})
	}
	if list := listMessage(msg.Text, msg.Choices, msg.ListButton); list != nil {
		return res, send(request{Type: "interactive", Interactive: list})
	}
	text := msg.Text
	if len(msg.Choices) > 0 {
		text = meta.NumberedChoices(text, msg.Choices)
	}
	if text == "" {
		return res, nil
	}
	for _, part := range TextLimit.Split(text) {
		if err := send(request{Type: "text", Text: &textBody{Body: part}}); err != nil {
			return res, err
		}
	}
	return res, nil
}

// markRead sends the read receipt of msg.MarkRead, with the typing
// indicator when msg.Typing.
func (s *Sender) markRead(ctx context.Context, msg channels.Outbound) error {
	if msg.MarkRead == "" {
		return &channels.SendError{Platform: channels.WhatsApp, Reason: meta.ReasonInvalidRequest,
			Message: "a WhatsApp typing indicator goes with a read receipt: set MarkRead to the id of the user's last message"}
	}
	req := request{MessagingProduct: "whatsapp", Status: "read", MessageID: msg.MarkRead}
	if msg.Typing {
		req.TypingIndicator = &typing{Type: "text"}
	}
	return s.client.Post(ctx, s.path, req, nil)
}

// recipient writes a phone number as "+<digits>"; anything else (a
// business-scoped user id) is sent as is.
func recipient(to string) string {
	if digits := strings.TrimPrefix(to, "+"); isDigits(digits) {
		return "+" + digits
	}
	return to
}

// replyButtons returns choices as reply buttons, or nil when they cannot all
// be shown as such.
func replyButtons(text string, choices []channels.Choice) *interactive {
	chars := meta.TextLimit{Max: MaxButtonBody}
	if text == "" || chars.Len(text) > MaxButtonBody || len(choices) == 0 || len(choices) > MaxButtons {
		return nil
	}
	in := &interactive{Type: "button"}
	in.Body.Text = text
	seen := make(map[string]bool)
	for _, c := range choices {
		if c.Title == "" || chars.Len(c.Title) > MaxButtonTitle || seen[c.Title] ||
			c.ID == "" || chars.Len(c.ID) > MaxButtonID {
			return nil
		}
		seen[c.Title] = true
		in.Action.Buttons = append(in.Action.Buttons, button{Type: "reply", Reply: reply{ID: c.ID, Title: c.Title}})
	}
	return in
}

// List message limits.
const (
	maxListRows   = 10
	maxListTitle  = 24
	maxListID     = 200
	maxListButton = 20
)

// listMessage returns choices as a list message opened by a button titled
// label, or nil when they cannot all be shown as such.
func listMessage(text string, choices []channels.Choice, label string) *interactive {
	chars := meta.TextLimit{Max: maxListID}
	if text == "" || label == "" || chars.Len(label) > maxListButton || TextLimit.Len(text) > TextLimit.Max ||
		len(choices) == 0 || len(choices) > maxListRows {
		return nil
	}
	in := &interactive{Type: "list"}
	in.Body.Text = text
	in.Action.Button = label
	rows := section{}
	seen := make(map[string]bool)
	for _, c := range choices {
		if c.Title == "" || chars.Len(c.Title) > maxListTitle || seen[c.ID] || c.ID == "" || chars.Len(c.ID) > maxListID {
			return nil
		}
		seen[c.ID] = true
		rows.Rows = append(rows.Rows, reply{ID: c.ID, Title: c.Title})
	}
	in.Action.Sections = []section{rows}
	return in
}

func templateOf(t *channels.Template) *template {
	out := &template{Name: t.Name}
	out.Language.Code = t.Language
	if len(t.Parameters) > 0 {
		body := component{Type: "body"}
		for _, p := range t.Parameters {
			body.Parameters = append(body.Parameters, parameter{Type: "text", Name: p.Name, Text: p.Text})
		}
		out.Components = []component{body}
	}
	return out
}

// mediaRequest sends a media message by id or link; unknown types go as
// documents.
func mediaRequest(a *channels.Attachment) request {
	l := &mediaObject{Link: a.URL, Caption: a.Caption}
	if a.MediaID != "" {
		l.ID, l.Link = a.MediaID, ""
	}
	switch strings.ToLower(a.Type) {
	case "image":
		return request{Type: "image", Image: l}
	case "video":
		return request{Type: "video", Video: l}
	case "audio", "voice":
		l.Caption = "" // audio takes no caption
		return request{Type: "audio", Audio: l}
	case "sticker":
		l.Caption = ""
		return request{Type: "sticker", Sticker: l}
	default:
		l.Filename = a.FileName
		return request{Type: "document", Document: l}
	}
}
