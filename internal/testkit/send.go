package testkit

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"switchboard/channels"
)

// Kinds of Send besides the message types ("text", "interactive",
// "template", "image", "audio", "video", "document", "sticker" on WhatsApp;
// "text", "image", "audio", "video", "file", "template" on Messenger and
// Instagram).
const (
	KindRead         = "read"          // WhatsApp mark-as-read (status "read")
	KindSenderAction = "sender_action" // Messenger/Instagram sender action (MARK_SEEN, TYPING_ON...)
)

// Send is one call to a /messages endpoint, as received and decoded into a
// form that is the same for the three platforms.
type Send struct {
	Platform channels.Platform
	Account  string // the path's id: phone_number_id, page or account id, "me"
	At       time.Time

	Method, Path, Authorization, ContentType string
	Body                                     []byte // the raw request body

	To   string // the recipient: a wa_id without "+", a PSID or IGSID
	Kind string // the message type, KindRead or KindSenderAction
	// Text is the user-visible text: text.body, interactive.body.text or
	// message.text.
	Text string
	// Interactive is WhatsApp's interactive.type ("button", "list").
	Interactive string
	// Choices are the reply buttons, list rows or quick replies.
	Choices  []channels.Choice
	Media    *SentMedia    // a media message or attachment
	Template *SentTemplate // a WhatsApp template, or a Messenger template attachment's type
	// Ref is what the platform echoes back: biz_opaque_callback_data
	// (WhatsApp) or message.metadata (Messenger, Instagram).
	Ref string
	// ReplyTo is WhatsApp's context.message_id, or the message a mark-read
	// marks.
	ReplyTo string
	// MessagingType and Tag are the Messenger/Instagram fields
	// (RESPONSE, MESSAGE_TAG with HUMAN_AGENT...).
	MessagingType, Tag string
	SenderAction       string // MARK_SEEN, TYPING_ON...
	// Typing is a typing indicator: a WhatsApp mark-read with
	// typing_indicator {"type": "text"}, or a TYPING_ON sender action.
	Typing    bool
	Malformed bool // the body is not a send the fake understands

	Status    int         // the HTTP status answered
	MessageID string      // the message id answered; "" unless accepted
	Error     *GraphError // the error answered, if the fake chose one
}

// SentMedia is the media of a send: by link (WhatsApp link, Messenger
// payload.url) or by id (WhatsApp id, Messenger attachment_id).
type SentMedia struct {
	Type     string // image, audio, video, document, sticker; file on Messenger
	Link     string
	ID       string
	Caption  string
	Filename string
	Reusable bool // Messenger is_reusable
}

// SentTemplate is a WhatsApp template send.
type SentTemplate struct {
	Name       string
	Language   string
	Parameters []channels.TemplateParam // body parameters, in order
}

// Accepted reports whether the fake answered the call with success.
func (s Send) Accepted() bool { return s.Status/100 == 2 && s.Error == nil }

// IsMessage reports whether the call sends a message (not a mark-read or a
// sender action).
func (s Send) IsMessage() bool { return s.Kind != KindRead && s.Kind != KindSenderAction }

// Display is a one-line view of the send for people: the text, or
// "[<type>] <link or id> <caption>" for media, "[template] <name>".
func (s Send) Display() string {
	switch {
	case s.Text != "":
		return s.Text
	case s.Template != nil:
		return "[template] " + s.Template.Name
	case s.Media != nil:
		return strings.TrimSpace("[" + s.Media.Type + "] " + s.Media.Link + s.Media.ID + " " + s.Media.Caption)
	case s.SenderAction != "":
		return "[" + s.SenderAction + "]"
	}
	return "[" + s.Kind + "]"
}

// The wire shapes the fake reads: the WhatsApp Cloud API message and the
// Messenger/Instagram Send API request in one struct.
type (
	wireMedia struct {
		ID       string `json:"id"`
		Link     string `json:"link"`
		Caption  string `json:"caption"`
		Filename string `json:"filename"`
	}
	wireReply struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	wireSend struct {
		MessagingProduct string `json:"messaging_product"`
		To               string `json:"to"`
		Type             string `json:"type"`
		Status           string `json:"status"`
		MessageID        string `json:"message_id"`
		Callback         string `json:"biz_opaque_callback_data"`
		Context          *struct {
			MessageID string `json:"message_id"`
		} `json:"context"`
		Text *struct {
			Body string `json:"body"`
		} `json:"text"`
		Interactive *struct {
			Type string `json:"type"`
			Body struct {
				Text string `json:"text"`
			} `json:"body"`
			Action struct {
				Buttons []struct {
					Reply wireReply `json:"reply"`
				} `json:"buttons"`
				Sections []struct {
					Rows []wireReply `json:"rows"`
				} `json:"sections"`
			} `json:"action"`
		} `json:"interactive"`
		Template *struct {
			Name     string `json:"name"`
			Language struct {
				Code string `json:"code"`
			} `json:"language"`
			Components []struct {
				Type       string `json:"type"`
				Parameters []struct {
					Name string `json:"parameter_name"`
					Text string `json:"text"`
				} `json:"parameters"`
			} `json:"components"`
		} `json:"template"`
		Image    *wireMedia `json:"image"`
		Audio    *wireMedia `json:"audio"`
		Video    *wireMedia `json:"video"`
		Document *wireMedia `json:"document"`
		Sticker  *wireMedia `json:"sticker"`

		TypingIndicator *struct {
			Type string `json:"type"`
		} `json:"typing_indicator"`

		Recipient *struct {
			ID string `json:"id"`
		} `json:"recipient"`
		MessagingType string `json:"messaging_type"`
		Tag           string `json:"tag"`
		SenderAction  string `json:"sender_action"`
		Message       *struct {
			Text         string `json:"text"`
			Metadata     string `json:"metadata"`
			QuickReplies []struct {
				Title   string `json:"title"`
				Payload string `json:"payload"`
			} `json:"quick_replies"`
			Attachment *struct {
				Type    string `json:"type"`
				Payload struct {
					URL          string `json:"url"`
					AttachmentID string `json:"attachment_id"`
					IsReusable   bool   `json:"is_reusable"`
					TemplateType string `json:"template_type"`
				} `json:"payload"`
			} `json:"attachment"`
		} `json:"message"`
	}
)

// decodeSend decodes a send body; Platform is WhatsApp when the body says
// so, else Messenger (the caller refines it by account).
func decodeSend(body []byte) Send {
	s := Send{Body: body, Platform: channels.Messenger}
	var w wireSend
	if err := json.Unmarshal(body, &w); err != nil {
		s.Malformed = true
		return s
	}
	if w.MessagingProduct == "whatsapp" {
		s.Platform = channels.WhatsApp
		decodeWhatsApp(&s, &w)
	} else {
		decodeMessaging(&s, &w)
	}
	return s
}

func decodeWhatsApp(s *Send, w *wireSend) {
	s.To, s.Kind, s.Ref = strings.TrimPrefix(w.To, "+"), w.Type, w.Callback
	if w.Context != nil {
		s.ReplyTo = w.Context.MessageID
	}
	if w.Status == "read" {
		s.Kind, s.ReplyTo = KindRead, w.MessageID
		s.Typing = w.TypingIndicator != nil && w.TypingIndicator.Type == "text"
		s.Malformed = w.MessageID == ""
		return
	}
	switch {
	case w.Text != nil:
		s.Text = w.Text.Body
	case w.Interactive != nil:
		s.Text, s.Interactive = w.Interactive.Body.Text, w.Interactive.Type
		for _, b := range w.Interactive.Action.Buttons {
			s.Choices = append(s.Choices, channels.Choice{ID: b.Reply.ID, Title: b.Reply.Title})
		}
		for _, sec := range w.Interactive.Action.Sections {
			for _, r := range sec.Rows {
				s.Choices = append(s.Choices, channels.Choice(r))
			}
		}
	case w.Template != nil:
		t := &SentTemplate{Name: w.Template.Name, Language: w.Template.Language.Code}
		for _, c := range w.Template.Components {
			if c.Type == "body" {
				for _, p := range c.Parameters {
					t.Parameters = append(t.Parameters, channels.TemplateParam{Name: p.Name, Text: p.Text})
				}
			}
		}
		s.Template = t
	default:
		for _, m := range []struct {
			kind string
			m    *wireMedia
		}{{"image", w.Image}, {"audio", w.Audio}, {"video", w.Video}, {"document", w.Document}, {"sticker", w.Sticker}} {
			if m.m != nil && m.kind == w.Type {
				s.Media = &SentMedia{Type: m.kind, Link: m.m.Link, ID: m.m.ID, Caption: m.m.Caption, Filename: m.m.Filename}
			}
		}
	}
	s.Malformed = s.To == "" || s.Kind == "" || (s.Text == "" && s.Template == nil && s.Media == nil)
}

func decodeMessaging(s *Send, w *wireSend) {
	if w.Recipient != nil {
		s.To = w.Recipient.ID
	}
	s.MessagingType, s.Tag, s.SenderAction = w.MessagingType, w.Tag, w.SenderAction
	s.Typing = strings.EqualFold(w.SenderAction, "typing_on")
	switch m := w.Message; {
	case w.SenderAction != "":
		s.Kind = KindSenderAction
	case m == nil:
		s.Malformed = true
	case m.Attachment != nil:
		a := m.Attachment
		s.Kind, s.Ref = a.Type, m.Metadata
		if a.Type == "template" {
			s.Template = &SentTemplate{Name: a.Payload.TemplateType}
		} else {
			s.Media = &SentMedia{Type: a.Type, Link: a.Payload.URL, ID: a.Payload.AttachmentID, Reusable: a.Payload.IsReusable}
		}
	default:
		s.Kind, s.Text, s.Ref = "text", m.Text, m.Metadata
		for _, q := range m.QuickReplies {
			s.Choices = append(s.Choices, channels.Choice{ID: q.Payload, Title: q.Title})
		}
		s.Malformed = m.Text == ""
	}
	s.Malformed = s.Malformed || s.To == ""
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
