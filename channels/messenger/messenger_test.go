package messenger

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"switchboard/channels"
	"switchboard/channels/channeltest"
	"switchboard/internal/testkit"
)

func newParser() *Parser {
	p := NewParser()
	p.Now = func() time.Time { return time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC) }
	return p
}

func TestParser(t *testing.T) {
	channeltest.RunParser(t, newParser(), "testdata")
}

func FuzzParse(f *testing.F) {
	for _, fx := range channeltest.Fixtures(f, "testdata") {
		f.Add(fx.Body)
	}
	p := newParser()
	f.Fuzz(func(t *testing.T, body []byte) { channeltest.CheckParse(t, p, body) })
}

// TestParseSemantics spells out the rules the golden files pin down.
func TestParseSemantics(t *testing.T) {
	parse := func(t *testing.T, name string) []channels.Event {
		t.Helper()
		body, err := os.ReadFile("testdata/" + name + ".json")
		if err != nil {
			t.Fatal(err)
		}
		events, err := newParser().Parse(body)
		if err != nil {
			t.Fatal(err)
		}
		return events
	}
	events := parse(t, "messaging")
	want := []struct {
		kind channels.Kind
		id   string
	}{
		{channels.KindChoice, "m_AbCdEf0123456789"},
		{channels.KindMedia, "m_AbCdEf0123456790"},
		{channels.KindPostback, "m_PostbackMid01"},
		{channels.KindStatus, "read:7000000000000001:1760000001900"},
		{channels.KindStatus, "delivery:7000000000000001:1760000002050"},
		{channels.KindReaction, "reaction:7000000000000001:m_PageMsg02:react:1760000003000"},
		{channels.KindEcho, "m_EchoMid01"},
	}
	if len(events) != len(want) {
		t.Fatalf("%d events, want %d", len(events), len(want))
	}
	for i, w := range want {
		if events[i].Kind != w.kind || events[i].ID != w.id || events[i].Account != "110000000000001" {
			t.Errorf("event %d: got %s %s, want %s %s", i, events[i].Kind, events[i].ID, w.kind, w.id)
		}
	}
	if qr := events[0]; qr.Payload != "TALK_TO_AGENT" || qr.Text != "Quero falar com um atendente" {
		t.Errorf("quick reply: %+v", qr)
	}
	if echo := events[6]; echo.User.ID != "7000000000000001" || echo.Payload != "gw:out:8f2c" {
		t.Errorf("echo: the user is the recipient and Payload the metadata: %+v", echo)
	}
	if sb := parse(t, "standby")[0]; !sb.Standby || sb.Kind != channels.KindText {
		t.Errorf("standby: %+v", sb)
	}
	pb := parse(t, "postback_wrapped")[0]
	if pb.Kind != channels.KindPostback || pb.Payload != "TALK_TO_AGENT" || !pb.Timestamp.Equal(time.Unix(1527459824, 0)) {
		t.Errorf("wrapped postback with a string timestamp in seconds: %+v", pb)
	}
	more := parse(t, "more_events")
	if r := more[1].Reaction; r == nil || !r.Removed || r.Emoji != "love" {
		t.Errorf("unreact: %+v", more[1])
	}
	if more[2].Attachments[0].Type != "sticker" || more[3].User.ID != "guest_ref_123" {
		t.Errorf("sticker or user_ref: %+v %+v", more[2], more[3])
	}
	if more[4].Kind != channels.KindUnsupported || more[4].Text != "optin" {
		t.Errorf("unknown event: %+v", more[4])
	}
}

func newSender(graphURL, token string) channels.Sender {
	return NewSender(SenderConfig{GraphURL: graphURL, AccessToken: token})
}

func TestSender(t *testing.T) {
	channeltest.RunSender(t, channels.Messenger, newSender)
}

func readFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/send/" + name + ".json")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSendShapes(t *testing.T) {
	for _, c := range []struct {
		name string
		msg  channels.Outbound
		want []string
	}{
		{"quick replies", channels.Outbound{To: "7000000000000001", Text: "Escolha uma opção:", Ref: "gw:out:8f2c",
			Choices: []channels.Choice{{ID: "TRACK_ORDER", Title: "Rastrear pedido"}, {ID: "TALK_TO_AGENT", Title: "Falar c/ atendente"}}},
			[]string{readFixture(t, "request_quick_replies")}},
		{"human agent", channels.Outbound{To: "7000000000000001", Text: "Oi Ana, o reembolso foi aprovado hoje.", HumanAgent: true},
			[]string{readFixture(t, "request_human_agent")}},
		{"mark seen", channels.Outbound{To: "7000000000000001", MarkRead: "m_1"},
			[]string{`{"recipient":{"id":"7000000000000001"},"sender_action":"MARK_SEEN"}`}},
		{"typing", channels.Outbound{To: "7000000000000001", Typing: true},
			[]string{`{"recipient":{"id":"7000000000000001"},"sender_action":"TYPING_ON"}`}},
		{"mark seen, then typing", channels.Outbound{To: "7000000000000001", MarkRead: "m_1", Typing: true, Text: "not sent"},
			[]string{
				`{"recipient":{"id":"7000000000000001"},"sender_action":"MARK_SEEN"}`,
				`{"recipient":{"id":"7000000000000001"},"sender_action":"TYPING_ON"}`,
			}},
		{"attachment by uploaded id", channels.Outbound{To: "7000000000000001",
			Attachment: &channels.Attachment{Type: "document", MediaID: "2000000000000001", URL: "https://example.com/ignored.pdf"}},
			[]string{`{"recipient":{"id":"7000000000000001"},"messaging_type":"RESPONSE","message":{"attachment":{"type":"file","payload":{"attachment_id":"2000000000000001"}}}}`}},
		{"attachment then caption", channels.Outbound{To: "7000000000000001",
			Attachment: &channels.Attachment{Type: "document", URL: "https://example.com/r.pdf", Caption: "your receipt"}},
			[]string{
				`{"recipient":{"id":"7000000000000001"},"messaging_type":"RESPONSE","message":{"attachment":{"type":"file","payload":{"url":"https://example.com/r.pdf","is_reusable":true}}}}`,
				`{"recipient":{"id":"7000000000000001"},"messaging_type":"RESPONSE","message":{"text":"your receipt"}}`,
			}},
		{"14 choices: numbered list", channels.Outbound{To: "7000000000000001", Text: "Q", Choices: make([]channels.Choice, 14)},
			[]string{`{"recipient":{"id":"7000000000000001"},"messaging_type":"RESPONSE","message":{"text":"Q\n\n1. \n2. \n3. \n4. \n5. \n6. \n7. \n8. \n9. \n10. \n11. \n12. \n13. \n14. "}}`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := testkit.NewGraph(t)
			g.AddMedia(testkit.Media{ID: "2000000000000001"}) // as if uploaded
			if _, err := newSender(g.URL, "tok").Send(context.Background(), c.msg); err != nil {
				t.Fatal(err)
			}
			reqs := g.Requests()
			if len(reqs) != len(c.want) {
				t.Fatalf("%d requests, want %d", len(reqs), len(c.want))
			}
			for i, r := range reqs {
				if r.Path != "/me/messages" {
					t.Errorf("path %s, want /me/messages", r.Path)
				}
				channeltest.AssertJSON(t, r.Body, c.want[i])
			}
		})
	}
}

func TestSendSplitsBelow2000(t *testing.T) {
	g := testkit.NewGraph(t)
	text := strings.Repeat("👍", 1500) + " " + strings.Repeat("x", 1500) // 4501 UTF-16 units
	res, err := newSender(g.URL, "tok").Send(context.Background(), channels.Outbound{To: "1", Text: text})
	if err != nil {
		t.Fatal(err)
	}
	reqs := g.Requests()
	if len(reqs) != 3 || len(res.MessageIDs) != 3 {
		t.Fatalf("%d requests, %d ids; want 3", len(reqs), len(res.MessageIDs))
	}
	for _, r := range reqs {
		if n := TextLimit.Len(r.Text); n >= 2000 {
			t.Errorf("part of %d characters", n)
		}
	}
}

func TestUpload(t *testing.T) {
	ctx := context.Background()
	g := testkit.NewGraph(t)
	pdf := []byte("%PDF-1.7 generated")
	for _, c := range []struct {
		account, path string
	}{{"", "/me/message_attachments"}, {"110000000000001", "/110000000000001/message_attachments"}} {
		s := NewSender(SenderConfig{GraphURL: g.URL + "/v24.0", AccessToken: "tok", AccountID: c.account})
		id, err := s.Upload(ctx, channels.Upload{Type: channels.MediaDocument, MIMEType: "application/pdf", Filename: "../receipt\r\n.pdf",
			Size: int64(len(pdf)), Body: bytes.NewReader(pdf)})
		if err != nil {
			t.Fatal(err)
		}
		ups := g.Uploads()
		up := ups[len(ups)-1]
		if up.ID != id || up.Account != strings.Split(c.path, "/")[1] || up.AttachmentType != "file" || !up.Reusable ||
			up.FileName != "receipt.pdf" || up.FileType != "application/pdf" || !bytes.Equal(up.Data, pdf) {
			t.Errorf("account %q: upload recorded as %+v, want one to %s", c.account, up, c.path)
		}
	}
	// Messenger takes any file type up to 25 MB, and no stickers.
	err := channels.CheckUpload(channels.Messenger, channels.MediaDocument, "application/x-anything", 25*1000*1000+1)
	if err == nil || err.Error() != "document files on Messenger may be at most 25 MB" {
		t.Errorf("got %v", err)
	}
	var ue *channels.UnsupportedTypeError
	if err := channels.CheckUpload(channels.Messenger, channels.MediaSticker, "image/webp", 1); !errors.As(err, &ue) || !ue.TypeRefused {
		t.Errorf("sticker: got %v", err)
	}
}
