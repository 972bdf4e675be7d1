package bots

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"switchboard/channels"
	"switchboard/routing"
)

func TestKeywordsBot(t *testing.T) {
	cfg := KeywordsConfig{
		Greeting: "Hi! I am the virtual assistant.",
		Fallback: "Sorry, I did not understand that.",
		Answers: []Answer{
			{Keywords: []string{"hours", "horario"}, Text: "Monday to Friday, 9:00 to 18:00."},
			{Keywords: []string{"price list", "precios"}, Text: "See our prices."},
		},
	}
	says := func(texts ...string) routing.BotReply {
		var r routing.BotReply
		for _, t := range texts {
			r.Messages = append(r.Messages, routing.BotMessage{Text: t})
		}
		return r
	}
	tests := []struct {
		name       string
		cfg        KeywordsConfig
		text       string
		newSession bool
		want       routing.BotReply
	}{
		{"a new session is greeted, no fallback", cfg, "hello", true, says(cfg.Greeting)},
		{"a new session with a question: greeting and answer", cfg, "¿Horário?", true, says(cfg.Greeting, cfg.Answers[0].Text)},
		{"a keyword ignores case and accents", cfg, "what are your HOURS", false, says(cfg.Answers[0].Text)},
		{"a multi-word keyword", cfg, "send me the Price List", false, says(cfg.Answers[1].Text)},
		{"whole words only", cfg, "precioso", false, says(cfg.Fallback)},
		{"no greeting configured: the fallback", KeywordsConfig{Fallback: "?"}, "hello", true, says("?")},
		{"no fallback configured: silence", KeywordsConfig{}, "hello", false, says()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bot, err := NewKeywords(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			req := Request{Message: Message{Kind: channels.KindText, Text: tt.text}, NewSession: tt.newSession}
			got, err := bot.Reply(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Reply (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewKeywordsErrors(t *testing.T) {
	tests := []struct {
		answer Answer
		want   string
	}{
		{Answer{Text: "x"}, "answer 1 has no keywords"},
		{Answer{Keywords: []string{"x"}}, "answer 1 has no text"},
	}
	for _, tt := range tests {
		if _, err := NewKeywords(KeywordsConfig{Answers: []Answer{tt.answer}}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewKeywords(%+v) error = %v, want %q", tt.answer, err, tt.want)
		}
	}
}

func TestNewRequest(t *testing.T) {
	c := routing.Conversation{ID: "c1", Channel: "wa-main", User: channels.User{ID: "u1", Name: "Ana"}}
	ask := routing.Effect{
		Kind:       routing.EffectAskBot,
		Event:      &channels.Event{Kind: channels.KindChoice, Text: "Prices", Payload: "menu:prices"},
		NewSession: true,
	}
	want := Request{
		ConversationID: "c1", Channel: "wa-main", User: c.User, NewSession: true,
		Message: Message{Kind: channels.KindChoice, Text: "Prices", Payload: "menu:prices"},
	}
	if diff := cmp.Diff(want, NewRequest(c, ask)); diff != "" {
		t.Errorf("NewRequest (-want +got):\n%s", diff)
	}
}
