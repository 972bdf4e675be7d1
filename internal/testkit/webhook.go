package testkit

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"switchboard/channels"
	"switchboard/channels/meta"
)

// The WhatsApp business the webhooks come from, besides the phone_number_id
// each builder takes.
const (
	WABAID             = "102290129340398" // entry[].id
	DisplayPhoneNumber = "15550783881"     // metadata.display_phone_number, context.from
)

// Inbound is one thing a user does, as a webhook carries it. Set Text for a
// text; Choice (and Text, its title) for a tapped reply button or quick
// reply; Postback for a Messenger/Instagram postback; Media for a media
// message.
type Inbound struct {
	ID   string // the message id (wamid.…, m_…); the platform's event id
	From string // the user: wa_id, PSID or IGSID
	Name string // the WhatsApp profile name
	At   time.Time

	Text   string
	Choice string // the tapped choice's id (button id, quick reply payload)
	// FromList says the WhatsApp choice was picked from a list message
	// (list_reply) rather than tapped as a reply button (button_reply).
	FromList bool
	Postback string // a postback's payload; Text is its title
	// Context is, on WhatsApp, the business message the user replied to or
	// whose button was tapped; on Messenger and Instagram, reply_to.mid.
	Context string
	Media   *InboundMedia
}

// InboundMedia is a user's media: WhatsApp carries a media ID to look up,
// Messenger and Instagram a URL.
type InboundMedia struct {
	Type     string // image, audio, video, document, sticker; Messenger: image, file...
	ID       string
	URL      string
	MimeType string
	Caption  string
	Filename string
}

// Status is a WhatsApp status update for a message the business sent.
type Status struct {
	MessageID string // the wamid the send was answered with
	Status    string // sent, delivered, read, failed
	Recipient string // the user's wa_id
	At        time.Time
	Callback  string // biz_opaque_callback_data, echoed from the send
	Errors    []StatusError
}

// StatusError is an error of a failed status.
type StatusError struct {
	Code    int
	Title   string
	Details string
}

// Receipt is a Messenger or Instagram delivery or read receipt.
type Receipt struct {
	From      string // the user
	At        time.Time
	Read      bool     // a read receipt, else a delivery
	MIDs      []string // delivery: the delivered mids; Instagram read: the read mid (first)
	Watermark time.Time
}

// Signed is a webhook delivery as Meta POSTs it: the body and the
// X-Hub-Signature-256 value for the app secret.
type Signed struct {
	Platform  channels.Platform
	Body      []byte
	Signature string
}

// Sign signs a webhook body with an app secret.
func Sign(p channels.Platform, body []byte, secret string) Signed {
	return Signed{Platform: p, Body: body, Signature: meta.Sign(body, secret)}
}

// Request builds the POST to baseURL/webhooks/<platform> with the JSON
// content type and the signature header.
func (s Signed) Request(ctx context.Context, baseURL string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/webhooks/"+string(s.Platform), bytes.NewReader(s.Body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(meta.SignatureHeader, s.Signature)
	return req, nil
}

// Message is the webhook body of one user message to account (the
// phone_number_id, page id or Instagram account id) on platform p.
func Message(p channels.Platform, account string, in Inbound) []byte {
	if p == channels.WhatsApp {
		return WhatsAppMessage(account, in)
	}
	return messaging(p, account, in.At, messagingItem(account, in))
}

// The WhatsApp wire shapes.
type (
	waMedia struct {
		ID       string `json:"id"`
		MimeType string `json:"mime_type,omitempty"`
		SHA256   string `json:"sha256,omitempty"`
		Caption  string `json:"caption,omitempty"`
		Filename string `json:"filename,omitempty"`
	}
	waReply struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	// waInteractive is a tapped reply button or a row picked from a list.
	waInteractive struct {
		Type        string   `json:"type"`
		ButtonReply *waReply `json:"button_reply,omitempty"`
		ListReply   *waReply `json:"list_reply,omitempty"`
	}
	waContext struct {
		From string `json:"from"`
		ID   string `json:"id"`
	}
	waMessage struct {
		Context   *waContext `json:"context,omitempty"`
		From      string     `json:"from"`
		ID        string     `json:"id"`
		Timestamp string     `json:"timestamp"`
		Type      string     `json:"type"`
		Text      *struct {
			Body string `json:"body"`
		} `json:"text,omitempty"`
		Interactive *waInteractive `json:"interactive,omitempty"`
		Image       *waMedia       `json:"image,omitempty"`
		Audio       *waMedia       `json:"audio,omitempty"`
		Video       *waMedia       `json:"video,omitempty"`
		Document    *waMedia       `json:"document,omitempty"`
		Sticker     *waMedia       `json:"sticker,omitempty"`
	}
	waStatusError struct {
		Code      int    `json:"code"`
		Title     string `json:"title"`
		Message   string `json:"message"`
		ErrorData struct {
			Details string `json:"details"`
		} `json:"error_data"`
	}
	waStatus struct {
		ID          string          `json:"id"`
		Status      string          `json:"status"`
		Timestamp   string          `json:"timestamp"`
		RecipientID string          `json:"recipient_id"`
		Callback    string          `json:"biz_opaque_callback_data,omitempty"`
		Errors      []waStatusError `json:"errors,omitempty"`
	}
	waValue struct {
		MessagingProduct string `json:"messaging_product"`
		Metadata         struct {
			DisplayPhoneNumber string `json:"display_phone_number"`
			PhoneNumberID      string `json:"phone_number_id"`
		} `json:"metadata"`
		Contacts []waContact `json:"contacts,omitempty"`
		Messages []waMessage `json:"messages,omitempty"`
		Statuses []waStatus  `json:"statuses,omitempty"`
	}
	waContact struct {
		Profile struct {
			Name string `json:"name"`
		} `json:"profile"`
		WaID string `json:"wa_id"`
	}
	waChange struct {
		Field string  `json:"field"`
		Value waValue `json:"value"`
	}
	waEntry struct {
		ID      string     `json:"id"`
		Changes []waChange `json:"changes"`
	}
	waWebhook struct {
		Object string    `json:"object"`
		Entry  []waEntry `json:"entry"`
	}
)

// whatsApp wraps a "messages" change value.
func whatsApp(phoneNumberID string, v waValue) []byte {
	v.MessagingProduct = "whatsapp"
	v.Metadata.DisplayPhoneNumber, v.Metadata.PhoneNumberID = DisplayPhoneNumber, phoneNumberID
	b, _ := json.Marshal(waWebhook{Object: "whatsapp_business_account",
		Entry: []waEntry{{ID: WABAID, Changes: []waChange{{Field: "messages", Value: v}}}}})
	return b
}

// WhatsAppMessage is a Cloud API webhook with one user message: a text, a
// tapped reply button (button_reply, with Context as the business message)
// or a media message.
func WhatsAppMessage(phoneNumberID string, in Inbound) []byte {
	m := waMessage{From: in.From, ID: in.ID, Timestamp: strconv.FormatInt(in.At.Unix(), 10), Type: "text"}
	if in.Context != "" {
		m.Context = &waContext{From: DisplayPhoneNumber, ID: in.Context}
	}
	switch {
	case in.Choice != "":
		m.Type = "interactive"
		if in.FromList {
			m.Interactive = &waInteractive{Type: "list_reply", ListReply: &waReply{in.Choice, in.Text}}
		} else {
			m.Interactive = &waInteractive{Type: "button_reply", ButtonReply: &waReply{in.Choice, in.Text}}
		}
	case in.Media != nil:
		md := &waMedia{ID: in.Media.ID, MimeType: in.Media.MimeType, SHA256: "c2hhMjU2IG9mIHRoZSBmaWxl", Caption: in.Media.Caption, Filename: in.Media.Filename}
		m.Type = in.Media.Type
		switch in.Media.Type {
		case "image":
			m.Image = md
		case "audio":
			m.Audio = md
		case "video":
			m.Video = md
		case "sticker":
			m.Sticker = md
		default:
			m.Type, m.Document = "document", md
		}
	default:
		m.Text = &struct {
			Body string `json:"body"`
		}{in.Text}
	}
	c := waContact{WaID: in.From}
	c.Profile.Name = in.Name
	return whatsApp(phoneNumberID, waValue{Contacts: []waContact{c}, Messages: []waMessage{m}})
}

// WhatsAppStatus is a Cloud API webhook with one status update.
func WhatsAppStatus(phoneNumberID string, st Status) []byte {
	s := waStatus{ID: st.MessageID, Status: st.Status, Timestamp: strconv.FormatInt(st.At.Unix(), 10),
		RecipientID: st.Recipient, Callback: st.Callback}
	for _, e := range st.Errors {
		we := waStatusError{Code: e.Code, Title: e.Title, Message: e.Title}
		we.ErrorData.Details = e.Details
		s.Errors = append(s.Errors, we)
	}
	return whatsApp(phoneNumberID, waValue{Statuses: []waStatus{s}})
}

// The Messenger and Instagram wire shapes.
type (
	msID struct {
		ID string `json:"id"`
	}
	msAttachment struct {
		Type    string `json:"type"`
		Payload struct {
			URL string `json:"url"`
		} `json:"payload"`
	}
	msMessage struct {
		MID        string `json:"mid"`
		Text       string `json:"text,omitempty"`
		QuickReply *struct {
			Payload string `json:"payload"`
		} `json:"quick_reply,omitempty"`
		ReplyTo *struct {
			MID string `json:"mid"`
		} `json:"reply_to,omitempty"`
		Attachments []msAttachment `json:"attachments,omitempty"`
	}
	msPostback struct {
		MID     string `json:"mid"`
		Title   string `json:"title"`
		Payload string `json:"payload"`
	}
	msReceipt struct {
		MIDs      []string `json:"mids,omitempty"`
		MID       string   `json:"mid,omitempty"`
		Watermark int64    `json:"watermark,omitempty"`
	}
	msItem struct {
		Sender    msID        `json:"sender"`
		Recipient msID        `json:"recipient"`
		Timestamp int64       `json:"timestamp"`
		Message   *msMessage  `json:"message,omitempty"`
		Postback  *msPostback `json:"postback,omitempty"`
		Delivery  *msReceipt  `json:"delivery,omitempty"`
		Read      *msReceipt  `json:"read,omitempty"`
	}
	msEntry struct {
		ID        string   `json:"id"`
		Time      int64    `json:"time"`
		Messaging []msItem `json:"messaging"`
	}
	msWebhook struct {
		Object string    `json:"object"`
		Entry  []msEntry `json:"entry"`
	}
)

// messaging wraps one messaging[] item: object "page" for Messenger,
// "instagram" for Instagram.
func messaging(p channels.Platform, account string, at time.Time, item msItem) []byte {
	object := "page"
	if p == channels.Instagram {
		object = "instagram"
	}
	b, _ := json.Marshal(msWebhook{Object: object, Entry: []msEntry{{ID: account, Time: at.UnixMilli(), Messaging: []msItem{item}}}})
	return b
}

func messagingItem(account string, in Inbound) msItem {
	item := msItem{Sender: msID{in.From}, Recipient: msID{account}, Timestamp: in.At.UnixMilli()}
	if in.Postback != "" {
		item.Postback = &msPostback{MID: in.ID, Title: in.Text, Payload: in.Postback}
		return item
	}
	m := &msMessage{MID: in.ID, Text: in.Text}
	if in.Choice != "" {
		m.QuickReply = &struct {
			Payload string `json:"payload"`
		}{in.Choice}
	}
	if in.Context != "" {
		m.ReplyTo = &struct {
			MID string `json:"mid"`
		}{in.Context}
	}
	if in.Media != nil {
		a := msAttachment{Type: in.Media.Type}
		a.Payload.URL = in.Media.URL
		m.Attachments = []msAttachment{a}
		if m.Text == "" {
			m.Text = in.Media.Caption
		}
	}
	item.Message = m
	return item
}

// MessagingReceipt is a Messenger or Instagram webhook with one delivery or
// read receipt from a user to account. Instagram read receipts carry the
// read mid (MIDs[0]); Messenger ones a watermark.
func MessagingReceipt(p channels.Platform, account string, r Receipt) []byte {
	item := msItem{Sender: msID{r.From}, Recipient: msID{account}, Timestamp: r.At.UnixMilli()}
	rc := &msReceipt{Watermark: r.Watermark.UnixMilli()}
	switch {
	case r.Read && p == channels.Instagram:
		rc = &msReceipt{}
		if len(r.MIDs) > 0 {
			rc.MID = r.MIDs[0]
		}
		item.Read = rc
	case r.Read:
		item.Read = rc
	default:
		rc.MIDs = r.MIDs
		item.Delivery = rc
	}
	return messaging(p, account, r.At, item)
}
