package try

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"switchboard/channels"
)

// This file is the platform side of Try: a fake Graph API that records what
// the gateway sends and answers like Meta, and the webhooks a user's app
// would cause.

// sentMessage is one message the fake Graph API accepted: what the user's
// app shows.
type sentMessage struct {
	id      string            // the platform message id the fake answered with
	ref     string            // the gateway's transcript entry id, echoed back by Meta
	text    string            // the text, or "[image] <url>" and the like
	choices []channels.Choice // reply buttons or quick replies
}

// fakeGraph stands in for Meta's Graph API. It answers every send with
// success and records it; reads (WhatsApp "read", Messenger sender actions)
// are answered and not recorded.
type fakeGraph struct {
	srv  *httptest.Server
	mu   sync.Mutex
	sent []sentMessage
}

func newFakeGraph() *fakeGraph {
	g := &fakeGraph{}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	return g
}

func (g *fakeGraph) url() string { return g.srv.URL }

func (g *fakeGraph) close() { g.srv.Close() }

// since returns the messages recorded after the first n, and the new count.
func (g *fakeGraph) since(n int) ([]sentMessage, int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]sentMessage(nil), g.sent[n:]...), len(g.sent)
}

// graphLink is a by-link WhatsApp media object.
type graphLink struct {
	Link    string `json:"link"`
	Caption string `json:"caption"`
}

// graphSend holds the fields of a WhatsApp Cloud API message and of a
// Messenger/Instagram Send API request that the fake reads.
type graphSend struct {
	MessagingProduct string `json:"messaging_product"` // "whatsapp" on WhatsApp only
	To               string `json:"to"`
	Type             string `json:"type"`
	Status           string `json:"status"`
	Callback         string `json:"biz_opaque_callback_data"`
	Text             *struct {
		Body string `json:"body"`
	} `json:"text"`
	Interactive *struct {
		Body struct {
			Text string `json:"text"`
		} `json:"body"`
		Action struct {
			Buttons []struct {
				Reply struct {
					ID    string `json:"id"`
					Title string `json:"title"`
				} `json:"reply"`
			} `json:"buttons"`
		} `json:"action"`
	} `json:"interactive"`
	Image    *graphLink `json:"image"`
	Audio    *graphLink `json:"audio"`
	Video    *graphLink `json:"video"`
	Document *graphLink `json:"document"`
	Sticker  *graphLink `json:"sticker"`
	Template *struct {
		Name string `json:"name"`
	} `json:"template"`

	Recipient struct {
		ID string `json:"id"`
	} `json:"recipient"`
	SenderAction string `json:"sender_action"`
	Message      *struct {
		Text         string `json:"text"`
		Metadata     string `json:"metadata"`
		QuickReplies []struct {
			Title   string `json:"title"`
			Payload string `json:"payload"`
		} `json:"quick_replies"`
		Attachment *struct {
			Type    string `json:"type"`
			Payload struct {
				URL string `json:"url"`
			} `json:"payload"`
		} `json:"attachment"`
	} `json:"message"`
}

func (g *fakeGraph) serve(w http.ResponseWriter, r *http.Request) {
	var req graphSend
	body, err := io.ReadAll(r.Body)
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/messages") || err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":{"message":"(#100) Invalid parameter","type":"OAuthException","code":100}}`)
		return
	}
	var answer any
	if req.MessagingProduct == "whatsapp" {
		answer = g.whatsApp(&req)
	} else {
		answer = g.messaging(&req)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(answer)
}

// whatsApp records a Cloud API message and answers as Meta does.
func (g *fakeGraph) whatsApp(req *graphSend) any {
	if req.Status == "read" {
		return map[string]bool{"success": true}
	}
	m := sentMessage{id: "wamid.SIM" + rand.Text(), ref: req.Callback}
	switch {
	case req.Text != nil:
		m.text = req.Text.Body
	case req.Interactive != nil:
		m.text = req.Interactive.Body.Text
		for _, b := range req.Interactive.Action.Buttons {
			m.choices = append(m.choices, channels.Choice{ID: b.Reply.ID, Title: b.Reply.Title})
		}
	case req.Template != nil:
		m.text = "[template] " + req.Template.Name
	default:
		for kind, l := range map[string]*graphLink{"image": req.Image, "audio": req.Audio, "video": req.Video, "document": req.Document, "sticker": req.Sticker} {
			if l != nil {
				m.text = strings.TrimSpace("[" + kind + "] " + l.Link + " " + l.Caption)
			}
		}
	}
	g.record(m)
	return map[string]any{
		"messaging_product": "whatsapp",
		"contacts":          []map[string]string{{"input": req.To, "wa_id": strings.TrimPrefix(req.To, "+")}},
		"messages":          []map[string]string{{"id": m.id}},
	}
}

// messaging records a Messenger or Instagram Send API message and answers
// as Meta does.
func (g *fakeGraph) messaging(req *graphSend) any {
	if req.Message == nil {
		return map[string]string{"recipient_id": req.Recipient.ID} // a sender action
	}
	m := sentMessage{id: "m_SIM" + rand.Text(), ref: req.Message.Metadata, text: req.Message.Text}
	if a := req.Message.Attachment; a != nil {
		m.text = "[" + a.Type + "] " + a.Payload.URL
	}
	for _, q := range req.Message.QuickReplies {
		m.choices = append(m.choices, channels.Choice{ID: q.Payload, Title: q.Title})
	}
	g.record(m)
	return map[string]string{"recipient_id": req.Recipient.ID, "message_id": m.id}
}

func (g *fakeGraph) record(m sentMessage) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sent = append(g.sent, m)
}

// tryUsers are the simulated users, one per platform, with ids of the form
// each platform uses (a phone number, a page- or account-scoped id).
var tryUsers = map[channels.Platform]channels.User{
	channels.WhatsApp:  {ID: "15550001234", Name: "Try User"},
	channels.Messenger: {ID: "7000000000001234", Name: "Try User"},
	channels.Instagram: {ID: "900000000001234", Name: "Try User"},
}

// userMessage is what the simulated user does: a text, or a tap on a
// choice of an earlier message.
type userMessage struct {
	text  string
	tap   *channels.Choice
	tapOf string // the platform id of the message whose choice was tapped
	at    time.Time
}

// webhookBody builds the webhook Meta would POST for one user message, with
// a fresh event id.
func webhookBody(p channels.Platform, account string, user channels.User, m userMessage) ([]byte, error) {
	if p == channels.WhatsApp {
		return json.Marshal(whatsAppWebhook(account, user, m))
	}
	object := "page"
	if p == channels.Instagram {
		object = "instagram"
	}
	msg := map[string]any{"mid": "m_TRY" + rand.Text(), "text": m.text}
	if m.tap != nil {
		msg["text"] = m.tap.Title
		msg["quick_reply"] = map[string]string{"payload": m.tap.ID}
	}
	ms := m.at.UnixMilli()
	return json.Marshal(map[string]any{
		"object": object,
		"entry": []any{map[string]any{
			"id": account, "time": ms,
			"messaging": []any{map[string]any{
				"sender": map[string]string{"id": user.ID}, "recipient": map[string]string{"id": account},
				"timestamp": ms, "message": msg,
			}},
		}},
	})
}

// whatsAppWebhook is a Cloud API "messages" change: a text message, or an
// interactive button_reply naming the tapped button's message.
func whatsAppWebhook(account string, user channels.User, m userMessage) any {
	msg := map[string]any{
		"from": user.ID, "id": "wamid.TRY" + rand.Text(), "timestamp": strconv.FormatInt(m.at.Unix(), 10),
		"type": "text", "text": map[string]string{"body": m.text},
	}
	if m.tap != nil {
		delete(msg, "text")
		msg["type"] = "interactive"
		msg["context"] = map[string]string{"from": account, "id": m.tapOf}
		msg["interactive"] = map[string]any{
			"type": "button_reply", "button_reply": map[string]string{"id": m.tap.ID, "title": m.tap.Title},
		}
	}
	return map[string]any{
		"object": "whatsapp_business_account",
		"entry": []any{map[string]any{
			"id": "WABA_TRY",
			"changes": []any{map[string]any{
				"field": "messages",
				"value": map[string]any{
					"messaging_product": "whatsapp",
					"metadata":          map[string]string{"display_phone_number": "15550000000", "phone_number_id": account},
					"contacts":          []any{map[string]any{"profile": map[string]string{"name": user.Name}, "wa_id": user.ID}},
					"messages":          []any{msg},
				},
			}},
		}},
	}
}
