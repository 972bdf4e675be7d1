package whatsapp

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"switchboard/channels"
	"switchboard/channels/meta"
)

// Parser parses WhatsApp webhooks; it implements channels.Parser.
type Parser struct {
	// Now stamps events whose payload carries no time (value.errors[]).
	Now func() time.Time
}

// NewParser returns a WhatsApp Parser.
func NewParser() *Parser { return &Parser{Now: time.Now} }

// Platform implements channels.Parser.
func (p *Parser) Platform() channels.Platform { return channels.WhatsApp }

type body struct {
	meta.Envelope
	Entry []struct {
		ID      string         `json:"id"`
		Time    meta.Timestamp `json:"time"`
		Changes []struct {
			Field string          `json:"field"`
			Value json.RawMessage `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

type value struct {
	Metadata struct {
		PhoneNumberID string `json:"phone_number_id"`
	} `json:"metadata"`
	Contacts []contact       `json:"contacts"`
	Messages []message       `json:"messages"`
	Statuses []status        `json:"statuses"`
	Errors   json.RawMessage `json:"errors"`
}

type contact struct {
	Profile struct {
		Name string `json:"name"`
	} `json:"profile"`
	WaID   string `json:"wa_id"`
	UserID string `json:"user_id"`
}

type wireError struct {
	Code      int    `json:"code"`
	Title     string `json:"title"`
	Message   string `json:"message"`
	ErrorData struct {
		Details string `json:"details"`
	} `json:"error_data"`
}

type media struct {
	ID       string `json:"id"`
	URL      string `json:"url"`
	MimeType string `json:"mime_type"`
	SHA256   string `json:"sha256"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"`
	Voice    bool   `json:"voice"`
	Animated bool   `json:"animated"`
}

type reply struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

type message struct {
	From       string         `json:"from"`
	FromUserID string         `json:"from_user_id"`
	ID         string         `json:"id"`
	Timestamp  meta.Timestamp `json:"timestamp"`
	Type       string         `json:"type"`
	Context    *struct {
		ID                  string `json:"id"`
		Forwarded           bool   `json:"forwarded"`
		FrequentlyForwarded bool   `json:"frequently_forwarded"`
	} `json:"context"`
	Text *struct {
		Body string `json:"body"`
	} `json:"text"`
	Image    *media `json:"image"`
	Audio    *media `json:"audio"`
	Video    *media `json:"video"`
	Document *media `json:"document"`
	Sticker  *media `json:"sticker"`
	Location *struct {
		Latitude  float64 `json:"latitude"`
		Longitude float64 `json:"longitude"`
		Name      string  `json:"name"`
		Address   string  `json:"address"`
		URL       string  `json:"url"`
	} `json:"location"`
	Contacts    []contactCard `json:"contacts"`
	Interactive *struct {
		Type        string `json:"type"`
		ButtonReply *reply `json:"button_reply"`
		ListReply   *reply `json:"list_reply"`
	} `json:"interactive"`
	Button *struct {
		Payload string `json:"payload"`
		Text    string `json:"text"`
	} `json:"button"`
	Reaction *struct {
		MessageID string `json:"message_id"`
		Emoji     string `json:"emoji"`
	} `json:"reaction"`
	System *struct {
		Body string `json:"body"`
		WaID string `json:"wa_id"`
		Type string `json:"type"`
	} `json:"system"`
	Unsupported *struct {
		Type string `json:"type"`
	} `json:"unsupported"`
	Errors []wireError `json:"errors"`
}

type contactCard struct {
	Name struct {
		FormattedName string `json:"formatted_name"`
		FirstName     string `json:"first_name"`
		LastName      string `json:"last_name"`
	} `json:"name"`
	Phones []struct {
		Phone string `json:"phone"`
		WaID  string `json:"wa_id"`
	} `json:"phones"`
	Emails []struct {
		Email string `json:"email"`
	} `json:"emails"`
	Org struct {
		Company string `json:"company"`
	} `json:"org"`
}

type status struct {
	ID              string         `json:"id"`
	Status          string         `json:"status"`
	Timestamp       meta.Timestamp `json:"timestamp"`
	RecipientID     string         `json:"recipient_id"`
	RecipientUserID string         `json:"recipient_user_id"`
	Errors          []wireError    `json:"errors"`
}

// Parse implements channels.Parser. It reads every entry, every "messages"
// change and every message, status and error in it, and skips other change
// fields. Message types it does not know become KindUnsupported events
// naming the type; a user_changed_number system message is a KindSystem
// event whose Payload is the new wa_id. It returns an error wrapping
// channels.ErrMalformed for invalid JSON or a body of the wrong shape, and
// one wrapping channels.ErrWrongObject when the body's object is not
// "whatsapp_business_account".
func (p *Parser) Parse(raw []byte) ([]channels.Event, error) {
	var b body
	if err := meta.DecodeEnvelope(raw, Object, &b); err != nil {
		return nil, err
	}
	var events []channels.Event
	for _, e := range b.Entry {
		for _, c := range e.Changes {
			if c.Field != "messages" || len(c.Value) == 0 {
				continue
			}
			var v value
			if err := json.Unmarshal(c.Value, &v); err != nil {
				return nil, fmt.Errorf("%w: %v", channels.ErrMalformed, err)
			}
			events = append(events, p.change(&v, e.ID, e.Time.Time)...)
		}
	}
	return events, nil
}

// change normalizes one "messages" change value.
func (p *Parser) change(v *value, waba string, entryTime time.Time) []channels.Event {
	account := v.Metadata.PhoneNumberID
	if account == "" {
		account = waba
	}
	var events []channels.Event
	for i := range v.Messages {
		ev := p.message(v, &v.Messages[i])
		ev.Account = account
		ev.Timestamp = meta.FirstTime(ev.Timestamp, entryTime, p.Now().UTC())
		events = append(events, ev)
	}
	for _, s := range v.Statuses {
		user := userKey(s.RecipientID, s.RecipientUserID)
		at := meta.FirstTime(s.Timestamp.Time, entryTime, p.Now().UTC())
		id := s.ID + ":" + s.Status
		if s.ID == "" {
			id = "status:" + user + ":" + strconv.FormatInt(at.Unix(), 10) + ":" + s.Status
		}
		ev := channels.Event{
			ID:        id,
			Platform:  channels.WhatsApp,
			Account:   account,
			User:      channels.User{ID: user, Phone: phone(s.RecipientID)},
			Timestamp: at,
			Kind:      channels.KindStatus,
			Status: &channels.Status{
				MessageIDs: []string{s.ID},
				Status:     channels.DeliveryStatus(s.Status),
				Errors:     errorsOf(s.Errors),
			},
		}
		events = append(events, ev)
	}
	var errs []wireError
	if json.Unmarshal(v.Errors, &errs) == nil && len(errs) > 0 {
		sum := sha256.Sum256(v.Errors)
		events = append(events, channels.Event{
			// The notice has no id of its own; hashing it keeps redeliveries deduplicable.
			ID:        "error:" + account + ":" + hex.EncodeToString(sum[:8]),
			Platform:  channels.WhatsApp,
			Account:   account,
			Timestamp: meta.FirstTime(entryTime, p.Now().UTC()),
			Kind:      channels.KindError,
			Errors:    errorsOf(errs),
		})
	}
	return events
}

// message normalizes one inbound message (Account and a missing Timestamp
// are the caller's).
func (p *Parser) message(v *value, m *message) channels.Event {
	c := v.contactOf(m)
	ev := channels.Event{
		ID:        m.ID,
		Platform:  channels.WhatsApp,
		User:      channels.User{ID: userKey(m.From, c.WaID, m.FromUserID, c.UserID), Name: c.Profile.Name, Phone: phone(m.From, c.WaID)},
		Timestamp: m.Timestamp.Time,
	}
	if ctx := m.Context; ctx != nil {
		ev.ReplyTo = ctx.ID
		ev.Forwarded = ctx.Forwarded || ctx.FrequentlyForwarded
	}
	switch {
	case m.Type == "text" && m.Text != nil:
		ev.Kind, ev.Text = channels.KindText, m.Text.Body
	case m.Type == "image" && m.Image != nil:
		mediaEvent(&ev, "image", m.Image)
	case m.Type == "video" && m.Video != nil:
		mediaEvent(&ev, "video", m.Video)
	case m.Type == "document" && m.Document != nil:
		mediaEvent(&ev, "document", m.Document)
	case m.Type == "sticker" && m.Sticker != nil:
		mediaEvent(&ev, "sticker", m.Sticker)
	case m.Type == "audio" && m.Audio != nil:
		kind := "audio"
		if m.Audio.Voice {
			kind = "voice"
		}
		mediaEvent(&ev, kind, m.Audio)
	case m.Type == "location" && m.Location != nil:
		l := m.Location
		ev.Kind = channels.KindLocation
		ev.Location = &channels.Location{Latitude: l.Latitude, Longitude: l.Longitude, Name: l.Name, Address: l.Address, URL: l.URL}
	case m.Type == "contacts" && len(m.Contacts) > 0:
		ev.Kind = channels.KindContacts
		for _, card := range m.Contacts {
			ev.Contacts = append(ev.Contacts, card.normalize())
		}
	case m.Type == "interactive" && m.Interactive != nil && (m.Interactive.ButtonReply != nil || m.Interactive.ListReply != nil):
		r := m.Interactive.ButtonReply
		if r == nil {
			r = m.Interactive.ListReply
		}
		ev.Kind, ev.Payload, ev.Text = channels.KindChoice, r.ID, r.Title
	case m.Type == "button" && m.Button != nil:
		ev.Kind, ev.Payload, ev.Text = channels.KindChoice, m.Button.Payload, m.Button.Text
	case m.Type == "reaction" && m.Reaction != nil:
		r := m.Reaction
		ev.Kind, ev.ReplyTo = channels.KindReaction, r.MessageID
		ev.Reaction = &channels.Reaction{MessageID: r.MessageID, Emoji: r.Emoji, Removed: r.Emoji == ""}
	case m.Type == "system" && m.System != nil:
		ev.Kind, ev.Text, ev.Payload = channels.KindSystem, m.System.Body, m.System.WaID
	default:
		ev.Kind, ev.Text = channels.KindUnsupported, unsupportedName(m)
		ev.Errors = errorsOf(m.Errors)
	}
	if ev.ID == "" {
		ev.ID = string(ev.Kind) + ":" + ev.User.ID + ":" + strconv.FormatInt(ev.Timestamp.Unix(), 10)
	}
	return ev
}

func mediaEvent(ev *channels.Event, kind string, m *media) {
	ev.Kind, ev.Text = channels.KindMedia, m.Caption
	ev.Attachments = []channels.Attachment{{
		Type: kind, MediaID: m.ID, URL: m.URL, MimeType: m.MimeType,
		Caption: m.Caption, FileName: m.Filename, SHA256: m.SHA256, Animated: m.Animated,
	}}
}

// unsupportedName says what an unsupported message was.
func unsupportedName(m *message) string {
	switch {
	case m.Unsupported != nil && m.Unsupported.Type != "":
		return m.Unsupported.Type
	case m.Type == "interactive" && m.Interactive != nil:
		return "interactive:" + m.Interactive.Type
	case m.Type != "":
		return m.Type
	}
	return "unknown"
}

func (c contactCard) normalize() channels.Contact {
	name := c.Name.FormattedName
	if name == "" {
		name = strings.TrimSpace(c.Name.FirstName + " " + c.Name.LastName)
	}
	out := channels.Contact{Name: name, Org: c.Org.Company}
	for _, ph := range c.Phones {
		if p := ph.Phone; p != "" {
			out.Phones = append(out.Phones, p)
		} else if ph.WaID != "" {
			out.Phones = append(out.Phones, "+"+ph.WaID)
		}
	}
	for _, e := range c.Emails {
		if e.Email != "" {
			out.Emails = append(out.Emails, e.Email)
		}
	}
	return out
}

// contactOf returns the contacts[] item describing the sender of m.
func (v *value) contactOf(m *message) contact {
	for _, c := range v.Contacts {
		if c.WaID != "" && strings.TrimPrefix(c.WaID, "+") == strings.TrimPrefix(m.From, "+") ||
			c.UserID != "" && c.UserID == m.FromUserID {
			return c
		}
	}
	if len(v.Contacts) == 1 {
		return v.Contacts[0]
	}
	return contact{}
}

// userKey returns the first non-empty id, without a leading '+'.
func userKey(ids ...string) string {
	for _, id := range ids {
		if id = strings.TrimPrefix(strings.TrimSpace(id), "+"); id != "" {
			return id
		}
	}
	return ""
}

// phone returns the first of numbers that is a phone number, as digits.
func phone(numbers ...string) string {
	for _, n := range numbers {
		if n = userKey(n); n != "" && isDigits(n) {
			return n
		}
	}
	return ""
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

func errorsOf(ws []wireError) []channels.Error {
	var out []channels.Error
	for _, w := range ws {
		out = append(out, channels.Error{Code: w.Code, Title: w.Title, Message: w.Message, Details: w.ErrorData.Details})
	}
	return out
}
