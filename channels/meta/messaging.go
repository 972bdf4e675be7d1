package meta

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"time"

	"switchboard/channels"
)

// MessagingParser parses the Messenger Platform webhooks that Messenger
// (object "page") and Instagram (object "instagram") share. It implements
// channels.Parser.
type MessagingParser struct {
	platform channels.Platform
	object   string
	// Now stamps events whose payload carries no usable time.
	Now func() time.Time
}

// NewMessagingParser returns a parser for platform whose webhooks carry
// object as their "object".
func NewMessagingParser(platform channels.Platform, object string) *MessagingParser {
	return &MessagingParser{platform: platform, object: object, Now: time.Now}
}

// Platform implements channels.Parser.
func (p *MessagingParser) Platform() channels.Platform { return p.platform }

type messagingBody struct {
	Envelope
	Entry []struct {
		ID        string            `json:"id"`
		Time      Timestamp         `json:"time"`
		Messaging []json.RawMessage `json:"messaging"`
		Standby   []json.RawMessage `json:"standby"`
		// Changes carries the wrapped form {"field": ..., "value": item}
		// that the postback reference documents.
		Changes []struct {
			Field string          `json:"field"`
			Value json.RawMessage `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

type party struct {
	ID      string `json:"id"`
	UserRef string `json:"user_ref"` // Chat Plugin guests
}

func (p party) key() string {
	if p.ID != "" {
		return p.ID
	}
	return p.UserRef
}

type messagingItem struct {
	Sender    party     `json:"sender"`
	Recipient party     `json:"recipient"`
	Timestamp Timestamp `json:"timestamp"`
	Message   *struct {
		Mid           string `json:"mid"`
		Text          string `json:"text"`
		IsEcho        bool   `json:"is_echo"`
		Metadata      string `json:"metadata"`
		IsDeleted     bool   `json:"is_deleted"`
		IsUnsupported bool   `json:"is_unsupported"`
		QuickReply    *struct {
			Payload string `json:"payload"`
		} `json:"quick_reply"`
		ReplyTo *struct {
			Mid   string `json:"mid"`
			Story *struct {
				URL string `json:"url"`
				ID  string `json:"id"`
			} `json:"story"`
		} `json:"reply_to"`
		Attachments []struct {
			Type    string `json:"type"`
			Payload *struct {
				URL       string          `json:"url"`
				StickerID json.RawMessage `json:"sticker_id"`
			} `json:"payload"`
		} `json:"attachments"`
	} `json:"message"`
	Postback *struct {
		Mid     string `json:"mid"`
		Title   string `json:"title"`
		Payload string `json:"payload"`
	} `json:"postback"`
	Read *struct {
		Watermark Timestamp `json:"watermark"`
		Mid       string    `json:"mid"` // Instagram
	} `json:"read"`
	Delivery *struct {
		Mids      []string  `json:"mids"`
		Watermark Timestamp `json:"watermark"`
	} `json:"delivery"`
	Reaction *struct {
		Reaction string `json:"reaction"`
		Emoji    string `json:"emoji"`
		Action   string `json:"action"`
		Mid      string `json:"mid"`
	} `json:"reaction"`
}

// Parse implements channels.Parser. It reads every entry[].messaging[],
// entry[].standby[] (Standby events) and wrapped entry[].changes[] item.
// Events it does not know become KindUnsupported events naming them. It
// returns an error wrapping channels.ErrMalformed for invalid JSON or a body
// of the wrong shape, and one wrapping channels.ErrWrongObject when the
// body's object is not this platform's.
func (p *MessagingParser) Parse(body []byte) ([]channels.Event, error) {
	var b messagingBody
	if err := DecodeEnvelope(body, p.object, &b); err != nil {
		return nil, err
	}
	var events []channels.Event
	for _, e := range b.Entry {
		add := func(raw json.RawMessage, standby bool) error {
			ev, err := p.item(e.ID, e.Time.Time, raw)
			if err != nil {
				return err
			}
			ev.Standby = standby
			events = append(events, ev)
			return nil
		}
		for _, raw := range e.Messaging {
			if err := add(raw, false); err != nil {
				return nil, err
			}
		}
		for _, raw := range e.Standby {
			if err := add(raw, true); err != nil {
				return nil, err
			}
		}
		for _, c := range e.Changes {
			if len(c.Value) == 0 || string(c.Value) == "null" {
				continue
			}
			if err := add(c.Value, false); err != nil {
				return nil, err
			}
		}
	}
	return events, nil
}

// item normalizes one messaging item. account is the entry id.
func (p *MessagingParser) item(account string, entryTime time.Time, raw json.RawMessage) (channels.Event, error) {
	var it messagingItem
	if err := json.Unmarshal(raw, &it); err != nil {
		return channels.Event{}, malformed(err)
	}
	user, business := it.Sender, it.Recipient
	if m := it.Message; m != nil && m.IsEcho {
		user, business = it.Recipient, it.Sender
	}
	if account == "" {
		account = business.key()
	}
	ev := channels.Event{
		Platform:  p.platform,
		Account:   account,
		User:      channels.User{ID: user.key()},
		Timestamp: FirstTime(it.Timestamp.Time, entryTime, p.Now().UTC()),
	}
	at := strconv.FormatInt(ev.Timestamp.UnixMilli(), 10)
	switch {
	case it.Message != nil:
		p.message(&ev, &it)
	case it.Postback != nil:
		ev.Kind, ev.ID = channels.KindPostback, it.Postback.Mid
		ev.Payload, ev.Text = it.Postback.Payload, it.Postback.Title
	case it.Reaction != nil:
		r := it.Reaction
		emoji := r.Emoji
		if emoji == "" {
			emoji = r.Reaction
		}
		ev.Kind, ev.ReplyTo = channels.KindReaction, r.Mid
		ev.Reaction = &channels.Reaction{MessageID: r.Mid, Emoji: emoji, Removed: r.Action == "unreact"}
		ev.ID = "reaction:" + ev.User.ID + ":" + r.Mid + ":" + r.Action + ":" + at
	case it.Read != nil:
		ev.Kind = channels.KindStatus
		ev.Status = &channels.Status{Status: channels.StatusRead}
		if r := it.Read; r.Mid != "" {
			ev.Status.MessageIDs = []string{r.Mid}
			ev.ID = "read:" + ev.User.ID + ":" + r.Mid
		} else {
			ev.Status.Watermark = r.Watermark.Time
			ev.ID = "read:" + ev.User.ID + ":" + strconv.FormatInt(r.Watermark.UnixMilli(), 10)
		}
	case it.Delivery != nil:
		d := it.Delivery
		ev.Kind = channels.KindStatus
		ev.Status = &channels.Status{Status: channels.StatusDelivered, MessageIDs: d.Mids, Watermark: d.Watermark.Time}
		ev.ID = "delivery:" + ev.User.ID + ":" + strconv.FormatInt(d.Watermark.UnixMilli(), 10)
	default:
		ev.Kind, ev.Text = channels.KindUnsupported, unknownKey(raw)
	}
	if ev.ID == "" {
		ev.ID = string(ev.Kind) + ":" + ev.User.ID + ":" + at
	}
	return ev, nil
}

// message fills ev from it.Message.
func (p *MessagingParser) message(ev *channels.Event, it *messagingItem) {
	m := it.Message
	ev.ID, ev.Text = m.Mid, m.Text
	if r := m.ReplyTo; r != nil {
		ev.ReplyTo = r.Mid
		if r.Story != nil {
			ev.Story = &channels.Story{ID: r.Story.ID, URL: r.Story.URL}
		}
	}
	for _, a := range m.Attachments {
		att := channels.Attachment{Type: a.Type}
		if a.Payload != nil {
			att.URL = a.Payload.URL
			if len(a.Payload.StickerID) > 0 && string(a.Payload.StickerID) != "null" {
				att.Type = "sticker"
			}
		}
		ev.Attachments = append(ev.Attachments, att)
	}
	switch {
	case m.IsEcho:
		ev.Kind, ev.Payload = channels.KindEcho, m.Metadata
	case m.IsDeleted:
		ev.Kind, ev.ReplyTo, ev.Text = channels.KindDeleted, m.Mid, ""
		if m.Mid != "" {
			ev.ID = "deleted:" + m.Mid // the mid is the deleted message's own
		}
	case m.IsUnsupported:
		ev.Kind = channels.KindUnsupported
	case m.QuickReply != nil:
		ev.Kind, ev.Payload = channels.KindChoice, m.QuickReply.Payload
	case len(ev.Attachments) > 0:
		ev.Kind = channels.KindMedia
	case m.Text != "":
		ev.Kind = channels.KindText
	default:
		ev.Kind, ev.Text = channels.KindUnsupported, "empty message"
	}
}

// unknownKey names the event key of an item the parser does not know.
func unknownKey(raw json.RawMessage) string {
	var fields map[string]json.RawMessage
	_ = json.Unmarshal(raw, &fields) // raw already decoded once into an item
	delete(fields, "sender")
	delete(fields, "recipient")
	delete(fields, "timestamp")
	if len(fields) == 0 {
		return "unknown event"
	}
	return slices.Sorted(maps.Keys(fields))[0]
}
