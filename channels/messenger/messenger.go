// Package messenger is the Facebook Messenger adapter: it parses the
// webhooks of object "page" into channels events and sends through the Send
// API (POST <graph>/me/messages with a Page token).
//
// The Messenger Platform format it speaks is shared with Instagram and lives
// in channels/meta; this package fixes Messenger's object name and limits.
// It imports only channels and channels/meta of this module.
package messenger

import (
	"switchboard/channels"
	"switchboard/channels/meta"
)

// Object is the "object" of Messenger webhooks.
const Object = "page"

// TextLimit is Messenger's text limit: fewer than 2000 characters.
var TextLimit = meta.TextLimit{Max: 1999, Unit: meta.UTF16}

// DefaultRateLimit is the Send API calls per second a Sender makes by
// default: Meta allows 300 per Page for text.
const DefaultRateLimit = 300

// Parser parses Messenger webhooks; it implements channels.Parser.
type Parser struct{ *meta.MessagingParser }

// NewParser returns a Messenger Parser.
func NewParser() *Parser {
	return &Parser{meta.NewMessagingParser(channels.Messenger, Object)}
}

// SenderConfig configures a Sender; see meta.SenderConfig.
type SenderConfig = meta.SenderConfig

// Sender sends messages from one Page; it implements channels.Sender
// and channels.Uploader.
type Sender struct{ *meta.MessagingSender }

// NewSender returns a Sender for the Page whose token cfg holds.
func NewSender(cfg SenderConfig) *Sender {
	return &Sender{meta.NewMessagingSender(channels.Messenger, cfg, TextLimit, DefaultRateLimit)}
}

var (
	_ channels.Parser   = (*Parser)(nil)
	_ channels.Sender   = (*Sender)(nil)
	_ channels.Uploader = (*Sender)(nil)
)
