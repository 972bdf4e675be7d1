// Package instagram is the Instagram Messaging adapter: it parses the
// webhooks of object "instagram" (story mentions and replies, unsent and
// unsupported messages, seen receipts included) into channels events and
// sends through the Send API (POST <graph>/me/messages with the token of the
// Page linked to the Instagram account).
//
// The Messenger Platform format it speaks is shared with Messenger and lives
// in channels/meta; this package fixes Instagram's object name and limits.
// It imports only channels and channels/meta of this module.
package instagram

import (
	"switchboard/channels"
	"switchboard/channels/meta"
)

// Object is the "object" of Instagram webhooks.
const Object = "instagram"

// TextLimit is Instagram's text limit: 1000 bytes of UTF-8.
var TextLimit = meta.TextLimit{Max: 1000, Unit: meta.Bytes}

// DefaultRateLimit is the Send API calls per second a Sender makes by
// default: Meta allows 300 per Instagram account for text.
const DefaultRateLimit = 300

// Parser parses Instagram webhooks; it implements channels.Parser.
type Parser struct{ *meta.MessagingParser }

// NewParser returns an Instagram Parser.
func NewParser() *Parser {
	return &Parser{meta.NewMessagingParser(channels.Instagram, Object)}
}

// SenderConfig configures a Sender; see meta.SenderConfig.
type SenderConfig = meta.SenderConfig

// Sender sends messages from one Instagram account; it implements
// channels.Sender and channels.Uploader.
type Sender struct{ *meta.MessagingSender }

// NewSender returns a Sender for the account whose token cfg holds.
func NewSender(cfg SenderConfig) *Sender {
	return &Sender{meta.NewMessagingSender(channels.Instagram, cfg, TextLimit, DefaultRateLimit)}
}

var (
	_ channels.Parser   = (*Parser)(nil)
	_ channels.Sender   = (*Sender)(nil)
	_ channels.Uploader = (*Sender)(nil)
)
