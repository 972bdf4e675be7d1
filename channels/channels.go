// Package channels holds the one message model that every messaging platform
// is normalized into (Event, Outbound) and the small interfaces an adapter
// implements (Parser, Sender, Uploader), with the platforms' upload limits
// (CheckUpload) and the errors they answer.
//
// It imports nothing of this module. Platform wire formats (Meta's JSON) live
// only in the sub-packages channels/meta, channels/whatsapp, channels/messenger
// and channels/instagram; nothing outside channels/... ever sees them.
package channels

import (
	"context"
	"time"
)

// Platform names a messaging platform. Its values are also the {platform}
// segment of the webhook routes.
type Platform string

// The platforms the gateway speaks.
const (
	WhatsApp  Platform = "whatsapp"
	Messenger Platform = "messenger"
	Instagram Platform = "instagram"
)

// Platforms lists every supported platform, in a fixed order.
var Platforms = []Platform{WhatsApp, Messenger, Instagram}

// Valid reports whether p is a supported platform.
func (p Platform) Valid() bool {
	for _, q := range Platforms {
		if p == q {
			return true
		}
	}
	return false
}

// Kind is what an inbound event is.
type Kind string

// Event kinds. Message-like kinds (a user wrote or tapped something) come
// first; the rest are receipts and notices about the conversation.
const (
	KindText        Kind = "text"        // Text
	KindMedia       Kind = "media"       // Attachments (image, audio, video, document, sticker, story mention, share...), Text holds a caption if any
	KindLocation    Kind = "location"    // Location
	KindContacts    Kind = "contacts"    // Contacts
	KindChoice      Kind = "choice"      // a tapped button, list row, quick reply or template button: Payload (its id), Text (its title)
	KindPostback    Kind = "postback"    // Messenger/Instagram postback (Get Started, menu, icebreaker): Payload, Text (title)
	KindReaction    Kind = "reaction"    // Reaction
	KindDeleted     Kind = "deleted"     // the user unsent a message: ReplyTo is the deleted message id
	KindUnsupported Kind = "unsupported" // a kind the adapter does not know; Text may say which
	KindStatus      Kind = "status"      // delivery status of a message the business sent: Status
	KindEcho        Kind = "echo"        // a message the business itself sent (is_echo): recorded, never routed to the bot
	KindError       Kind = "error"       // a platform-level error notice (WhatsApp value.errors[]): Errors
	KindSystem      Kind = "system"      // a system notice (WhatsApp user_changed_number): Text
)

// IsUserMessage reports whether the kind is something the user wrote or
// tapped, i.e. an event the conversation engine routes and that refreshes
// the user's messaging window.
func (k Kind) IsUserMessage() bool {
	switch k {
	case KindText, KindMedia, KindLocation, KindContacts, KindChoice, KindPostback, KindUnsupported:
		return true
	}
	return false
}

// Event is one normalized inbound event.
type Event struct {
	// ID is the platform's unique id of the event, used for deduplication:
	// the wamid or mid of a message; for a status "<message id>:<status>";
	// for a Messenger delivery/read "<kind>:<user>:<watermark>". Never empty.
	ID       string   `json:"id"`
	Platform Platform `json:"platform"`
	// Account is the business account the event was addressed to: the
	// WhatsApp phone_number_id, the Messenger page id, the Instagram account
	// id. The gateway maps it to a configured channel.
	Account string `json:"account"`
	// Channel is the configured channel id; filled in by the gateway, empty
	// when it comes out of a Parser.
	Channel string `json:"channel,omitempty"`
	// User is the end user the event is about (the sender of a message, the
	// recipient of a status or an echo).
	User      User      `json:"user"`
	Timestamp time.Time `json:"timestamp"`
	Kind      Kind      `json:"kind"`

	Text        string       `json:"text,omitempty"`
	Payload     string       `json:"payload,omitempty"`
	Attachments []Attachment `json:"attachments,omitempty"`
	Location    *Location    `json:"location,omitempty"`
	Contacts    []Contact    `json:"contacts,omitempty"`
	// ReplyTo is the id of the message this one answers or quotes (a tapped
	// button's message, a quoted reply, a reacted-to or deleted message).
	ReplyTo  string    `json:"reply_to,omitempty"`
	Story    *Story    `json:"story,omitempty"` // an Instagram story reply
	Reaction *Reaction `json:"reaction,omitempty"`
	Status   *Status   `json:"status,omitempty"`
	Errors   []Error   `json:"errors,omitempty"`
	// Standby is true for Messenger/Instagram events delivered while another
	// app owns the thread (entry[].standby[]). They are recorded, not routed.
	Standby bool `json:"standby,omitempty"`
	// Forwarded is true when WhatsApp says the message was forwarded.
	Forwarded bool `json:"forwarded,omitempty"`
}

// User identifies an end user on one channel.
type User struct {
	// ID is the user's key on the platform: the WhatsApp wa_id (or the
	// business-scoped user_id when wa_id is empty), the Messenger PSID, the
	// Instagram IGSID.
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	// Phone is the WhatsApp number (digits only) when the platform gave one.
	Phone string `json:"phone,omitempty"`
}

// Attachment is a media item or shared object.
type Attachment struct {
	// Type: image, audio, voice, video, document, sticker, file, story_mention,
	// share, reel, post, fallback, ... (lower case, as the platform names it,
	// with WhatsApp voice notes as "voice").
	Type string `json:"type"`
	// MediaID is, inbound, the WhatsApp media id (fetch its URL from the
	// Graph API); outbound, the id an Uploader returned, sent instead of URL.
	MediaID  string `json:"media_id,omitempty"`
	URL      string `json:"url,omitempty"`
	MimeType string `json:"mime_type,omitempty"`
	Caption  string `json:"caption,omitempty"`
	FileName string `json:"file_name,omitempty"`
	SHA256   string `json:"sha256,omitempty"`
	Animated bool   `json:"animated,omitempty"`
}

// Location is a shared place.
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name,omitempty"`
	Address   string  `json:"address,omitempty"`
	URL       string  `json:"url,omitempty"`
}

// Contact is a shared contact card, flattened.
type Contact struct {
	Name   string   `json:"name"`
	Phones []string `json:"phones,omitempty"`
	Emails []string `json:"emails,omitempty"`
	Org    string   `json:"org,omitempty"`
}

// Story is the Instagram story a message replies to.
type Story struct {
	ID  string `json:"id,omitempty"`
	URL string `json:"url,omitempty"`
}

// Reaction is an emoji reaction to a message; Removed when the user took it back.
type Reaction struct {
	MessageID string `json:"message_id"`
	Emoji     string `json:"emoji,omitempty"`
	Removed   bool   `json:"removed,omitempty"`
}

// DeliveryStatus is the delivery state of a message the business sent.
// sent < delivered < read; failed is terminal.
type DeliveryStatus string

// Delivery statuses, in order.
const (
	StatusSent      DeliveryStatus = "sent"
	StatusDelivered DeliveryStatus = "delivered"
	StatusRead      DeliveryStatus = "read"
	StatusFailed    DeliveryStatus = "failed"
)

// rank orders statuses; unknown ones (e.g. WhatsApp "played") rank as read.
func (s DeliveryStatus) rank() int {
	switch s {
	case "":
		return 0
	case StatusSent:
		return 1
	case StatusDelivered:
		return 2
	case StatusFailed:
		return 4
	default:
		return 3
	}
}

// Advances reports whether moving from s to next is progress: statuses never
// go back (a late "delivered" after "read" is ignored) and "failed" is final.
func (s DeliveryStatus) Advances(next DeliveryStatus) bool {
	if s == StatusFailed {
		return false
	}
	return next.rank() > s.rank()
}

// Status reports the delivery of business messages.
type Status struct {
	// MessageIDs are the platform ids of the messages concerned (one for a
	// WhatsApp status; several, or none, for a Messenger delivery).
	MessageIDs []string       `json:"message_ids,omitempty"`
	Status     DeliveryStatus `json:"status"`
	// Watermark, when set, means every message sent at or before it has
	// reached Status (Messenger deliveries and reads).
	Watermark time.Time `json:"watermark,omitzero"`
	Errors    []Error   `json:"errors,omitempty"`
}

// Error is a platform error, as found in webhooks and Send API answers.
type Error struct {
	Code    int    `json:"code"`
	Subcode int    `json:"subcode,omitempty"`
	Title   string `json:"title,omitempty"`
	Message string `json:"message,omitempty"`
	Details string `json:"details,omitempty"`
}

// Choice is one option offered to the user (a reply button, a quick reply).
type Choice struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// Outbound is one message to a user.
type Outbound struct {
	// To is the user's platform id (User.ID).
	To string `json:"to"`
	// Text is the body; for a question with Choices it is the question.
	Text    string   `json:"text,omitempty"`
	Choices []Choice `json:"choices,omitempty"`
	// ListButton, when set, lets WhatsApp show 4 to 10 Choices as a list
	// message opened by a button with this title (at most 20 characters);
	// without it, more than 3 choices are a numbered list in the text.
	ListButton string `json:"list_button,omitempty"`
	// Attachment sends a media message (image, audio, video, document/file,
	// sticker on WhatsApp) by its uploaded MediaID, else by URL.
	Attachment *Attachment `json:"attachment,omitempty"`
	// Template sends a WhatsApp template (the only kind allowed outside the window).
	Template *Template `json:"template,omitempty"`
	// MarkRead marks the given inbound message id as read (WhatsApp, which
	// marks the earlier ones too) or sends MARK_SEEN (Messenger/Instagram,
	// for the whole thread). With MarkRead or Typing set, nothing else is
	// sent: no other field is used.
	MarkRead string `json:"mark_read,omitempty"`
	// Typing shows the user a typing indicator until the next message (or
	// about 25 s on WhatsApp). WhatsApp shows it only with a read receipt:
	// MarkRead must hold the id of the user's last message, or Send fails
	// with an invalid_request SendError. Messenger/Instagram send TYPING_ON,
	// after MARK_SEEN when MarkRead is set too.
	Typing bool `json:"typing,omitempty"`
	// HumanAgent asks Messenger/Instagram to send with the HUMAN_AGENT tag
	// (a human reply between 24 h and 7 days after the user's last message).
	HumanAgent bool `json:"human_agent,omitempty"`
	// Ref is the gateway's own id of the message, passed as metadata where
	// the platform echoes it back.
	Ref string `json:"ref,omitempty"`
}

// Template is a WhatsApp message template.
type Template struct {
	Name       string          `json:"name"`
	Language   string          `json:"language"`
	Parameters []TemplateParam `json:"parameters,omitempty"`
}

// TemplateParam is one body parameter; Name is set for named parameters.
type TemplateParam struct {
	Name string `json:"name,omitempty"`
	Text string `json:"text"`
}

// SendResult is what the platform answered to a send.
type SendResult struct {
	// MessageIDs are the platform ids of what was sent: one per part when a
	// long text had to be split.
	MessageIDs []string `json:"message_ids"`
}

// Parser turns the raw body of a verified webhook into normalized events.
// It must never panic, whatever the input. A well-formed body may yield zero
// events (e.g. a change field the gateway does not subscribe to).
type Parser interface {
	Platform() Platform
	// Parse returns ErrMalformed (wrapped) for invalid JSON and ErrWrongObject
	// (wrapped) when the body's "object" is not this platform's.
	Parse(body []byte) ([]Event, error)
}

// Sender sends messages on one configured channel (one WhatsApp number, one
// Page, one Instagram account).
type Sender interface {
	// Send delivers msg. Failures are *SendError; use IsRetryable to decide
	// whether to try again.
	Send(ctx context.Context, msg Outbound) (SendResult, error)
}
