package whatsapp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"switchboard/channels"
	"switchboard/channels/channeltest"
	"switchboard/channels/meta"
	"switchboard/internal/testkit"
)

var clock = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

func newParser() *Parser {
	p := NewParser()
	p.Now = func() time.Time { return clock }
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
	t.Run("voice note", func(t *testing.T) {
		ev := parse(t, "message_audio_voice")[0]
		if ev.Kind != channels.KindMedia || ev.Attachments[0].Type != "voice" || ev.Attachments[0].MediaID != "1003383421387257" {
			t.Errorf("got %+v", ev)
		}
	})
	t.Run("button reply", func(t *testing.T) {
		ev := parse(t, "message_button_reply")[0]
		if ev.Kind != channels.KindChoice || ev.Payload != "cancel-button" || ev.Text != "Cancel" || ev.ReplyTo != "wamid.BIZ_BUTTONS_MSG" {
			t.Errorf("got %+v", ev)
		}
	})
	t.Run("reaction removed", func(t *testing.T) {
		ev := parse(t, "message_reaction_removed")[0]
		if ev.Kind != channels.KindReaction || !ev.Reaction.Removed || ev.Reaction.MessageID != "wamid.BIZ_MSG_REACTED_TO" {
			t.Errorf("got %+v", ev)
		}
	})
	t.Run("username user keyed by user_id", func(t *testing.T) {
		ev := parse(t, "username_bsuid")[0]
		if ev.User != (channels.User{ID: "user.9373795779ebA1", Name: "Ana"}) {
			t.Errorf("got %+v", ev.User)
		}
	})
	t.Run("plus stripped, forwarded", func(t *testing.T) {
		ev := parse(t, "forwarded_video")[0]
		if ev.User.ID != "16505551234" || ev.User.Phone != "16505551234" || !ev.Forwarded {
			t.Errorf("got %+v", ev)
		}
	})
	t.Run("failed status", func(t *testing.T) {
		ev := parse(t, "status_failed")[0]
		if ev.Kind != channels.KindStatus || !strings.HasSuffix(ev.ID, ":failed") || ev.Status.Status != channels.StatusFailed ||
			len(ev.Status.Errors) != 1 || ev.Status.Errors[0].Code != 131047 {
			t.Errorf("got %+v", ev)
		}
	})
	t.Run("value errors", func(t *testing.T) {
		ev := parse(t, "errors")[0]
		if ev.Kind != channels.KindError || ev.Errors[0].Code != 130429 || !ev.Timestamp.Equal(clock) {
			t.Errorf("got %+v", ev)
		}
	})
	t.Run("batch", func(t *testing.T) {
		events := parse(t, "batch")
		if len(events) != 6 {
			t.Fatalf("%d events, want 6", len(events))
		}
		if events[0].User.Name != "B" || events[1].User.Name != "A" || events[5].Account != "106540352240000" {
			t.Errorf("contacts or accounts mixed up: %+v", events)
		}
	})
}

func newSender(graphURL, token string) *Sender {
	return NewSender(SenderConfig{GraphURL: graphURL, AccessToken: token, AccountID: "106540352242922"})
}

func TestSender(t *testing.T) {
	channeltest.RunSender(t, channels.WhatsApp, func(graphURL, token string) channels.Sender { return newSender(graphURL, token) })
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
		want string
	}{
		{"text", channels.Outbound{To: "5511987654321", Text: "Seu pedido 4471 saiu para entrega."},
			readFixture(t, "request_text")},
		{"template", channels.Outbound{To: "+5511987654321", Template: &channels.Template{Name: "order_update", Language: "pt_BR",
			Parameters: []channels.TemplateParam{{Name: "customer_name", Text: "Ana"}, {Name: "order_id", Text: "4471"}}}},
			readFixture(t, "request_template")},
		{"smallest template", channels.Outbound{To: "16505551234", Template: &channels.Template{Name: "hello_world", Language: "en_US"}},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"template","template":{"name":"hello_world","language":{"code":"en_US"}}}`},
		{"mark read", channels.Outbound{To: "5511987654321", MarkRead: "wamid.X"},
			`{"messaging_product":"whatsapp","status":"read","message_id":"wamid.X"}`},
		{"mark read with typing", channels.Outbound{To: "5511987654321", MarkRead: "wamid.X", Typing: true, Text: "not sent"},
			`{"messaging_product":"whatsapp","status":"read","message_id":"wamid.X","typing_indicator":{"type":"text"}}`},
		{"image by uploaded id", channels.Outbound{To: "5511987654321", Attachment: &channels.Attachment{Type: "image", MediaID: "1000000000000001", URL: "https://example.com/ignored.jpg", Caption: "Receipt"}},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+5511987654321","type":"image","image":{"id":"1000000000000001","caption":"Receipt"}}`},
		{"document by uploaded id", channels.Outbound{To: "5511987654321", Attachment: &channels.Attachment{Type: "document", MediaID: "1000000000000001", FileName: "r.pdf"}},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+5511987654321","type":"document","document":{"id":"1000000000000001","filename":"r.pdf"}}`},
		{"reply buttons", channels.Outbound{To: "5511987654321", Text: "Deseja manter?", Ref: "gw:out:1",
			Choices: []channels.Choice{{ID: "keep", Title: "Manter"}, {ID: "reschedule", Title: "Remarcar"}, {ID: "agent", Title: "Falar c/ atendente"}}},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+5511987654321","type":"interactive","biz_opaque_callback_data":"gw:out:1",
			  "interactive":{"type":"button","body":{"text":"Deseja manter?"},"action":{"buttons":[
			    {"type":"reply","reply":{"id":"keep","title":"Manter"}},{"type":"reply","reply":{"id":"reschedule","title":"Remarcar"}},
			    {"type":"reply","reply":{"id":"agent","title":"Falar c/ atendente"}}]}}}`},
		{"list", channels.Outbound{To: "5511987654321", Text: "How did we do?", ListButton: "Choose",
			Choices: []channels.Choice{{ID: "r1", Title: "1"}, {ID: "r2", Title: "2"}, {ID: "r3", Title: "3"}, {ID: "r4", Title: "4"}}},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+5511987654321","type":"interactive",
			  "interactive":{"type":"list","body":{"text":"How did we do?"},"action":{"button":"Choose","sections":[{"rows":[
			    {"id":"r1","title":"1"},{"id":"r2","title":"2"},{"id":"r3","title":"3"},{"id":"r4","title":"4"}]}]}}}`},
		{"more than 3 choices without a list button: numbered list", channels.Outbound{To: "5511987654321", Text: "Pick",
			Choices: []channels.Choice{{ID: "a", Title: "A"}, {ID: "b", Title: "B"}, {ID: "c", Title: "C"}, {ID: "d", Title: "D"}}},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+5511987654321","type":"text",
			  "text":{"preview_url":false,"body":"Pick\n\n1. A\n2. B\n3. C\n4. D"}}`},
		{"title too long: numbered list", channels.Outbound{To: "5511987654321", Text: "Pick",
			Choices: []channels.Choice{{ID: "a", Title: "A title of more than twenty"}, {ID: "b", Title: "B"}}},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+5511987654321","type":"text",
			  "text":{"preview_url":false,"body":"Pick\n\n1. A title of more than twenty\n2. B"}}`},
		{"username recipient", channels.Outbound{To: "user.9373795779ebA1", Text: "oi"},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"user.9373795779ebA1","type":"text","text":{"preview_url":false,"body":"oi"}}`},
		{"image", channels.Outbound{To: "5511987654321", Attachment: &channels.Attachment{Type: "image", URL: "https://example.com/a.jpg", Caption: "Receipt"}},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+5511987654321","type":"image","image":{"link":"https://example.com/a.jpg","caption":"Receipt"}}`},
		{"document", channels.Outbound{To: "5511987654321", Attachment: &channels.Attachment{Type: "document", URL: "https://example.com/r.pdf", FileName: "r.pdf"}},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+5511987654321","type":"document","document":{"link":"https://example.com/r.pdf","filename":"r.pdf"}}`},
		{"voice", channels.Outbound{To: "5511987654321", Attachment: &channels.Attachment{Type: "voice", URL: "https://example.com/v.ogg", Caption: "dropped"}},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+5511987654321","type":"audio","audio":{"link":"https://example.com/v.ogg"}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := testkit.NewGraph(t)
			g.AddMedia(testkit.Media{ID: "1000000000000001"}) // as if uploaded
			if _, err := newSender(g.URL, "tok").Send(context.Background(), c.msg); err != nil {
				t.Fatal(err)
			}
			reqs := g.Requests()
			if len(reqs) != 1 || reqs[0].Path != "/106540352242922/messages" {
				t.Fatalf("got %+v, want one request to /106540352242922/messages", reqs)
			}
			channeltest.AssertJSON(t, reqs[0].Body, c.want)
		})
	}
}

func TestSendSplitsAt4096(t *testing.T) {
	g := testkit.NewGraph(t)
	text := strings.Repeat("ação ", 2000) // 10000 characters
	res, err := newSender(g.URL, "tok").Send(context.Background(), channels.Outbound{To: "1", Text: text})
	if err != nil {
		t.Fatal(err)
	}
	reqs := g.Requests()
	if len(reqs) != 3 || len(res.MessageIDs) != 3 {
		t.Fatalf("%d requests, %d ids; want 3", len(reqs), len(res.MessageIDs))
	}
	for _, r := range reqs {
		if n := TextLimit.Len(r.Text); n > 4096 {
			t.Errorf("part of %d characters", n)
		}
	}
}

func TestSendAnswers(t *testing.T) {
	g := testkit.NewGraph(t)
	s := newSender(g.URL, "tok")
	msg := channels.Outbound{To: "5511987654321", Text: "hi"}

	g.Respond(testkit.Always(200, readFixture(t, "response_success")))
	res, err := s.Send(context.Background(), msg)
	if err != nil || len(res.MessageIDs) != 1 || res.MessageIDs[0] != "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABEYEjAxQUIyMzQ1Njc4OUFCQ0RFRgA=" {
		t.Errorf("success: got %v, %v", res, err)
	}

	g.Respond(testkit.Always(400, readFixture(t, "response_error")))
	_, err = s.Send(context.Background(), msg)
	var se *channels.SendError
	if !errors.As(err, &se) || se.Reason != meta.ReasonWindowClosed || se.Retryable ||
		!strings.Contains(se.Message, "more than 24 hours") || !strings.Contains(se.Message, "Az8or2yhqkZfEZ-_4Qn_Bam") {
		t.Errorf("error: got %v", err)
	}
}

func TestTypingNeedsMarkRead(t *testing.T) {
	g := testkit.NewGraph(t)
	_, err := newSender(g.URL, "tok").Send(context.Background(), channels.Outbound{To: "5511987654321", Typing: true})
	var se *channels.SendError
	if !errors.As(err, &se) || se.Retryable || se.Reason != meta.ReasonInvalidRequest || !strings.Contains(se.Message, "MarkRead") {
		t.Errorf("got %v, want a permanent invalid_request naming MarkRead", err)
	}
	if n := len(g.Requests()); n != 0 {
		t.Errorf("%d requests, want none", n)
	}
}

func TestTemplateErrors(t *testing.T) {
	tpl := &channels.Template{Name: "order_update", Language: "pt_BR", Parameters: []channels.TemplateParam{{Text: "Ana"}}}
	for _, c := range []struct {
		answer  testkit.GraphError
		problem channels.TemplateProblem
		message string
	}{
		{testkit.ErrTemplateParams, channels.TemplateParamCount, `template "order_update" (pt_BR): the number of parameters does not match the approved template`},
		{testkit.ErrTemplateMissing, channels.TemplateMissing, `template "order_update" does not exist in language pt_BR`},
		{testkit.ErrTemplateFormat, channels.TemplateParamFormat, `template "order_update" (pt_BR): a parameter's format does not match the approved template`},
		{testkit.ErrTemplatePaused, channels.TemplatePaused, `template "order_update" is paused for low quality and cannot be sent until it is active again`},
		{testkit.ErrTemplateDisabled, channels.TemplateDisabled, `template "order_update" is disabled and can no longer be sent`},
		{testkit.GraphError{Status: 400, Code: 132005, Title: "Translated text too long"}, channels.TemplateRefused,
			`template "order_update" (pt_BR) was refused (code 132005): (#132005) Translated text too long (fbtrace_id AbCdEfTestTrace)`},
	} {
		t.Run(string(c.problem), func(t *testing.T) {
			g := testkit.NewGraph(t)
			g.FailNext(1, c.answer)
			_, err := newSender(g.URL, "tok").Send(context.Background(), channels.Outbound{To: "5511987654321", Template: tpl})
			var se *channels.SendError
			var te *channels.TemplateError
			if !errors.As(err, &se) || se.Retryable || se.Reason != meta.ReasonTemplate || !errors.As(err, &te) {
				t.Fatalf("got %v, want a permanent template SendError wrapping a TemplateError", err)
			}
			if te.Problem != c.problem || te.Code != c.answer.Code || te.Name != "order_update" || te.Language != "pt_BR" || te.Error() != c.message {
				t.Errorf("got %+v: %q\nwant %s: %q", te, te.Error(), c.problem, c.message)
			}
		})
	}
}

func TestUploadFields(t *testing.T) {
	g := testkit.NewGraph(t)
	s := NewSender(SenderConfig{GraphURL: g.URL + "/v24.0", AccessToken: "tok", AccountID: "106540352242922"})
	voice := []byte("OggS generated voice note")
	id, err := s.Upload(context.Background(), channels.Upload{Type: channels.MediaAudio, MIMEType: "Audio/OGG; codecs=opus",
		Filename: "note \"1\".ogg", Size: int64(len(voice)), Body: bytes.NewReader(voice)})
	if err != nil {
		t.Fatal(err)
	}
	ups := g.Uploads()
	if len(ups) != 1 {
		t.Fatalf("%d uploads, want 1", len(ups))
	}
	up := ups[0]
	if up.ID != id || up.Account != "106540352242922" || up.MessagingProduct != "whatsapp" || up.Type != "audio/ogg" ||
		up.FileType != "audio/ogg; codecs=opus" || up.FileName != `note "1".ogg` || !bytes.Equal(up.Data, voice) {
		t.Errorf("upload recorded as %+v", up)
	}
	// Then sent by that id, as audio without caption.
	if _, err := s.Send(context.Background(), channels.Outbound{To: "5511987654321",
		Attachment: &channels.Attachment{Type: "voice", MediaID: id, Caption: "dropped"}}); err != nil {
		t.Fatal(err)
	}
	if sent, _ := g.Last("5511987654321"); sent.Media == nil || sent.Media.Type != "audio" || sent.Media.ID != id || sent.Media.Caption != "" {
		t.Errorf("sent %+v", sent.Media)
	}
}

func TestUploadLimits(t *testing.T) {
	for _, c := range []struct {
		typ     channels.MediaType
		mime    string
		size    int64
		message string // "" when accepted
	}{
		{channels.MediaImage, "image/jpeg", 5 * 1000 * 1000, ""},
		{channels.MediaImage, "image/png", 5*1000*1000 + 1, "image files on WhatsApp may be at most 5 MB"},
		{channels.MediaImage, "image/gif", 10, `"image/gif" is not accepted for image files on WhatsApp; accepted: image/jpeg, image/png`},
		{channels.MediaAudio, "audio/ogg; codecs=opus", 16 * 1000 * 1000, ""},
		{channels.MediaAudio, "audio/amr", 16*1000*1000 + 1, "audio files on WhatsApp may be at most 16 MB"},
		{channels.MediaVideo, "video/3gpp", -1, ""},
		{channels.MediaVideo, "video/quicktime", 10, `"video/quicktime" is not accepted for video files on WhatsApp; accepted: video/mp4, video/3gpp`},
		{channels.MediaDocument, "application/pdf", 100 * 1000 * 1000, ""},
		{channels.MediaDocument, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", 100*1000*1000 + 1, "document files on WhatsApp may be at most 100 MB"},
		{channels.MediaSticker, "image/webp", 500*1000 + 1, "sticker files on WhatsApp may be at most 500 KB"},
		{channels.MediaDocument, "not a type", 10, `"not a type" is not accepted for document files on WhatsApp; accepted: application/pdf, ` +
			"text/plain, text/csv, application/rtf, application/msword, application/vnd.openxmlformats-officedocument.wordprocessingml.document, " +
			"application/vnd.ms-excel, application/vnd.openxmlformats-officedocument.spreadsheetml.sheet, application/vnd.ms-powerpoint, " +
			"application/vnd.openxmlformats-officedocument.presentationml.presentation, application/vnd.oasis.opendocument.text, " +
			"application/vnd.oasis.opendocument.spreadsheet, application/vnd.oasis.opendocument.presentation, application/zip"},
	} {
		err := channels.CheckUpload(channels.WhatsApp, c.typ, c.mime, c.size)
		if got := fmt.Sprint(err); (c.message == "" && err != nil) || (c.message != "" && got != c.message) {
			t.Errorf("%s %s of %d bytes: got %v, want %q", c.typ, c.mime, c.size, err, c.message)
		}
	}
}

func TestUploadWithoutID(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, `{"success":true}`)
	}))
	defer srv.Close()
	_, err := newSender(srv.URL, "tok").Upload(context.Background(), channels.Upload{Type: channels.MediaImage, MIMEType: "image/png", Size: -1, Body: strings.NewReader("png")})
	var se *channels.SendError
	if !errors.As(err, &se) || se.Retryable || se.Reason != meta.ReasonBadResponse {
		t.Errorf("got %v, want a permanent bad_response", err)
	}
}
