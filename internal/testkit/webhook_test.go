package testkit_test

import (
	"context"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"switchboard/channels"
	"switchboard/channels/instagram"
	"switchboard/channels/messenger"
	"switchboard/channels/meta"
	"switchboard/channels/whatsapp"
	"switchboard/internal/testkit"
)

var at = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// parse runs the platform's real parser over a webhook body.
func parse(t *testing.T, p channels.Platform, body []byte) []channels.Event {
	t.Helper()
	var parser channels.Parser
	switch p {
	case channels.WhatsApp:
		parser = whatsapp.NewParser()
	case channels.Messenger:
		parser = messenger.NewParser()
	default:
		parser = instagram.NewParser()
	}
	events, err := parser.Parse(body)
	if err != nil {
		t.Fatalf("%s parser: %v\n%s", p, err, body)
	}
	if len(events) != 1 {
		t.Fatalf("%s parser: %d events, want 1\n%s", p, len(events), body)
	}
	return events
}

// The builders' bodies are what the adapters parse into the event meant.
func TestWebhooksParse(t *testing.T) {
	accounts := map[channels.Platform]string{channels.WhatsApp: waPhone, channels.Messenger: fbPage, channels.Instagram: igID}
	for _, p := range channels.Platforms {
		account := accounts[p]
		t.Run(string(p), func(t *testing.T) {
			ev := parse(t, p, testkit.Message(p, account, testkit.Inbound{ID: "id-1", From: "5511987654321", Name: "Ana", At: at, Text: "hello"}))[0]
			if ev.Kind != channels.KindText || ev.ID != "id-1" || ev.Text != "hello" || ev.User.ID != "5511987654321" ||
				ev.Account != account || !ev.Timestamp.Equal(at) {
				t.Errorf("text: %+v", ev)
			}
			if p == channels.WhatsApp && ev.User.Name != "Ana" {
				t.Errorf("profile name: %+v", ev.User)
			}
			ev = parse(t, p, testkit.Message(p, account, testkit.Inbound{ID: "id-2", From: "1", At: at, Text: "Wait", Choice: "gw:wait:yes", Context: "mid-0"}))[0]
			if ev.Kind != channels.KindChoice || ev.Payload != "gw:wait:yes" || ev.Text != "Wait" {
				t.Errorf("choice: %+v", ev)
			}
			media := &testkit.InboundMedia{Type: "image", ID: "1234567890", URL: "https://example.com/a.jpg", MimeType: "image/jpeg", Caption: "receipt"}
			ev = parse(t, p, testkit.Message(p, account, testkit.Inbound{ID: "id-3", From: "1", At: at, Media: media}))[0]
			if ev.Kind != channels.KindMedia || len(ev.Attachments) != 1 || ev.Attachments[0].Type != "image" {
				t.Errorf("media: %+v", ev)
			} else if a := ev.Attachments[0]; p == channels.WhatsApp && (a.MediaID != "1234567890" || ev.Text != "receipt") {
				t.Errorf("WhatsApp media: %+v", ev)
			} else if p != channels.WhatsApp && a.URL != media.URL {
				t.Errorf("%s media: %+v", p, ev)
			}
			if p == channels.WhatsApp {
				return
			}
			ev = parse(t, p, testkit.Message(p, account, testkit.Inbound{ID: "id-4", From: "1", At: at, Text: "Get Started", Postback: "GET_STARTED"}))[0]
			if ev.Kind != channels.KindPostback || ev.Payload != "GET_STARTED" {
				t.Errorf("postback: %+v", ev)
			}
			ev = parse(t, p, testkit.MessagingReceipt(p, account, testkit.Receipt{From: "1", At: at, Read: true, MIDs: []string{"m_1"}, Watermark: at}))[0]
			if ev.Kind != channels.KindStatus || ev.Status.Status != channels.StatusRead {
				t.Errorf("read: %+v", ev)
			}
			if p == channels.Messenger {
				ev = parse(t, p, testkit.MessagingReceipt(p, account, testkit.Receipt{From: "1", At: at, MIDs: []string{"m_1"}, Watermark: at}))[0]
				if ev.Kind != channels.KindStatus || ev.Status.Status != channels.StatusDelivered || !slices.Equal(ev.Status.MessageIDs, []string{"m_1"}) {
					t.Errorf("delivery: %+v", ev)
				}
			}
		})
	}
	t.Run("whatsapp status", func(t *testing.T) {
		ev := parse(t, channels.WhatsApp, testkit.WhatsAppStatus(waPhone, testkit.Status{MessageID: "wamid.OUT1", Status: "failed",
			Recipient: "5511987654321", At: at, Callback: "gw:out:1", Errors: []testkit.StatusError{{Code: 131047, Title: "Re-engagement message"}}}))[0]
		if ev.Kind != channels.KindStatus || ev.Status.Status != channels.StatusFailed || !slices.Equal(ev.Status.MessageIDs, []string{"wamid.OUT1"}) ||
			len(ev.Status.Errors) != 1 || ev.Status.Errors[0].Code != 131047 {
			t.Errorf("status: %+v", ev)
		}
	})
}

func TestSigned(t *testing.T) {
	body := testkit.Message(channels.Messenger, fbPage, testkit.Inbound{ID: "m_1", From: "1", At: at, Text: "hi"})
	s := testkit.Sign(channels.Messenger, body, "app-secret")
	req, err := s.Request(context.Background(), "http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(req.Body)
	if req.URL.Path != "/webhooks/messenger" || req.Header.Get("Content-Type") != "application/json" || string(got) != string(body) {
		t.Errorf("request %s %v %s", req.URL, req.Header, got)
	}
	if !meta.VerifySignature(body, req.Header.Get(meta.SignatureHeader), "app-secret") {
		t.Errorf("signature %q does not verify", req.Header.Get(meta.SignatureHeader))
	}
	if meta.VerifySignature(body, s.Signature, "other-secret") {
		t.Error("signature verifies with another secret")
	}
}

func TestClock(t *testing.T) {
	c := testkit.NewClock(at)
	if !c.Now().Equal(at) {
		t.Fatalf("Now %s, want %s", c.Now(), at)
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Advance(time.Minute)
			_ = c.Now()
		}()
	}
	wg.Wait()
	if want := at.Add(10 * time.Minute); !c.Now().Equal(want) {
		t.Errorf("after 10 concurrent Advance(1m): %s, want %s", c.Now(), want)
	}
	c.Set(at)
	if got := c.Advance(time.Hour); !got.Equal(at.Add(time.Hour)) || !c.Now().Equal(got) {
		t.Errorf("Set then Advance: %s", got)
	}
}
