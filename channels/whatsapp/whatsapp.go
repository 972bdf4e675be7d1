// Package whatsapp is the WhatsApp Cloud API adapter: it parses the webhooks
// of object "whatsapp_business_account" (messages of every type, statuses,
// errors) into channels events and sends through POST
// <graph>/<phone_number_id>/messages.
//
// User keys: a user is keyed by wa_id (digits, any '+' stripped), or, for
// users who hide their number behind a username, by the business-scoped
// user_id (contacts[].user_id, messages[].from_user_id).
//
// Choices beyond what reply buttons allow are sent as a numbered text list
// ("1. Title", "2. Title"); the gateway maps a "1", "2"... answer back with
// meta.ChoiceForAnswer.
//
// It imports only channels and channels/meta of this module.
package whatsapp

import (
	"switchboard/channels"
	"switchboard/channels/meta"
)

// Object is the "object" of WhatsApp webhooks.
const Object = "whatsapp_business_account"

// Send limits.
const (
	// DefaultRateLimit is the messages per second a Sender makes by default:
	// a business number's default throughput.
	DefaultRateLimit = 80
	MaxButtons       = 3    // reply buttons per message
	MaxButtonTitle   = 20   // characters in a button title
	MaxButtonID      = 256  // characters in a button id
	MaxButtonBody    = 1024 // characters in the text above reply buttons
	MaxCaption       = 1024 // characters in a media caption
)

// TextLimit is WhatsApp's text limit: 4096 characters.
var TextLimit = meta.TextLimit{Max: 4096, Unit: meta.UTF16}

var (
	_ channels.Parser   = (*Parser)(nil)
	_ channels.Sender   = (*Sender)(nil)
	_ channels.Uploader = (*Sender)(nil)
)
