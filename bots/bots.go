// Package bots holds the virtual assistants the gateway talks to: the
// built-in keywords bot and the http bot (a connected bot behind a URL).
// Both implement Bot; the engine calls Reply for each AskBot effect and
// feeds the answer back to routing as an InBotReply. When Reply fails the
// engine sends the configured fallback instead.
//
// bots imports only the routing, channels and internal/outbound packages
// of this module.
//
// # The HTTP bot contract
//
// For each user message the gateway sends one request:
//
//	POST <url>
//	Content-Type: application/json
//	X-Switchboard-Timestamp: 1763762043
//	X-Switchboard-Signature: sha256=<hex>
//
//	{
//	  "conversation_id": "c_8f2c...",
//	  "channel": "wa-main",
//	  "user": {"id": "5511987654321", "name": "Ana Souza"},
//	  "message": {"kind": "text", "text": "what are your hours?", "payload": ""},
//	  "variables": {"order": "1234"},
//	  "new_session": false
//	}
//
// message.kind is one of text, media, location, contacts, choice, postback,
// unsupported; for a tapped button or quick reply (choice) payload is the
// choice's id and text its title. variables are the ones the bot returned
// last in this conversation ({} when none). new_session is true for the
// first message of a bot session (a good time to greet).
//
// X-Switchboard-Timestamp is the sending time in Unix seconds.
// X-Switchboard-Signature is "sha256=" followed by the lower-case hex
// HMAC-SHA256, keyed with the configured secret, of the timestamp, a dot
// and the raw body:
//
//	hex(HMAC_SHA256(secret, timestamp + "." + body))
//
// A bot should recompute it over the raw bytes it received, compare in
// constant time, and reject requests whose timestamp is more than five
// minutes away from its clock, so that a captured request cannot be
// replayed later. VerifySignature does all of this in Go.
//
// The bot answers 200 (any 2xx) with:
//
//	{
//	  "messages": [
//	    {"text": "We open at 9:00. Anything else?",
//	     "choices": [{"id": "more", "title": "Yes"}, {"id": "bye", "title": "No"}]}
//	  ],
//	  "handoff": false,
//	  "variables": {"order": "1234"},
//	  "note": "asked about hours",
//	  "agent": "ana"
//	}
//
// messages are sent to the user in order (choices become reply buttons or
// quick replies; each needs an id and a title; a message needs a text).
// handoff: true refers the user to a human after the messages are sent.
// variables replace the conversation's stored ones when present. note, if
// any, is a private note for agents, never shown to the user. agent, with
// handoff, names the agent the bot prefers (an agent id): on a channel
// with automatic assignment the conversation goes to that agent when they
// are online and have room, else to the next agent as usual. An empty
// answer ({}) is valid: the bot says nothing.
//
// The gateway waits at most the configured timeout (default 5 s). A
// timeout, a network error, a redirect (never followed: the request goes to
// the configured URL only), a status other than 2xx, a body that is not
// this JSON (or is larger than 1 MiB) or a message without text counts as
// a failure: the user gets the configured fallback message. The gateway
// does not retry a failed call.
package bots

import (
	"context"

	"switchboard/channels"
	"switchboard/routing"
)

// Bot answers one user message.
type Bot interface {
	// Reply returns what the bot says; an error means the bot failed (the
	// engine then sends the fallback).
	Reply(ctx context.Context, req Request) (routing.BotReply, error)
}

// Request is one user message for the bot.
type Request struct {
	ConversationID string
	Channel        string
	User           channels.User
	Message        Message
	// Variables are the ones the bot returned last in this conversation.
	Variables map[string]string
	// NewSession is true for the first message of a bot session.
	NewSession bool
}

// Message is the user's message as the bot sees it.
type Message struct {
	Kind channels.Kind
	// Text is the text, a caption or a tapped choice's title.
	Text string
	// Payload is a tapped choice's or postback's id.
	Payload string
}

// NewRequest builds the request for an AskBot effect of conversation c;
// the caller adds the stored variables.
func NewRequest(c routing.Conversation, ask routing.Effect) Request {
	req := Request{
		ConversationID: c.ID,
		Channel:        c.Channel,
		User:           c.User,
		NewSession:     ask.NewSession,
	}
	if ev := ask.Event; ev != nil {
		req.Message = Message{Kind: ev.Kind, Text: ev.Text, Payload: ev.Payload}
	}
	return req
}
