package bots

import (
	"context"
	"fmt"

	"switchboard/routing"
)

// KeywordsConfig configures the built-in keywords bot.
type KeywordsConfig struct {
	// Greeting opens each bot session; empty: no greeting.
	Greeting string
	// Fallback answers a message no keyword matches; empty: silence.
	Fallback string
	// Answers are tried in order; the first whose keyword the message
	// contains answers it.
	Answers []Answer
}

// Answer is a canned answer and the keywords that trigger it (whole words,
// ignoring case and accents, as routing.MatchKeyword).
type Answer struct {
	Keywords []string
	Text     string
}

// KeywordsBot answers with canned texts chosen by keyword.
type KeywordsBot struct {
	cfg KeywordsConfig
}

var _ Bot = (*KeywordsBot)(nil)

// NewKeywords returns a keywords bot; an answer without keywords or text is
// an error.
func NewKeywords(cfg KeywordsConfig) (*KeywordsBot, error) {
	for i, a := range cfg.Answers {
		switch {
		case len(a.Keywords) == 0:
			return nil, fmt.Errorf("keywords bot: answer %d has no keywords", i+1)
		case a.Text == "":
			return nil, fmt.Errorf("keywords bot: answer %d has no text", i+1)
		}
	}
	return &KeywordsBot{cfg: cfg}, nil
}

// Reply greets a new session, then answers the first matching keyword. An
// unmatched message gets the fallback, except the first of a session that
// was greeted: the greeting already says what the bot can do.
func (b *KeywordsBot) Reply(_ context.Context, req Request) (routing.BotReply, error) {
	var reply routing.BotReply
	greeted := req.NewSession && b.cfg.Greeting != ""
	if greeted {
		reply.Messages = append(reply.Messages, routing.BotMessage{Text: b.cfg.Greeting})
	}
	switch text, ok := b.answer(req.Message.Text); {
	case ok:
		reply.Messages = append(reply.Messages, routing.BotMessage{Text: text})
	case !greeted && b.cfg.Fallback != "":
		reply.Messages = append(reply.Messages, routing.BotMessage{Text: b.cfg.Fallback})
	}
	return reply, nil
}

func (b *KeywordsBot) answer(text string) (string, bool) {
	for _, a := range b.cfg.Answers {
		if _, ok := routing.MatchKeyword(text, a.Keywords); ok {
			return a.Text, true
		}
	}
	return "", false
}
