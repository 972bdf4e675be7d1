package instagram

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

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
	body, err := os.ReadFile("testdata/messaging.json")
	if err != nil {
		t.Fatal(err)
	}
	events, err := newParser().Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 7 {
		t.Fatalf("%d events, want 7", len(events))
	}
	text, storyReply, mention, deleted, unsupported, read, echo := events[0], events[1], events[2], events[3], events[4], events[5], events[6]
	if text.Kind != channels.KindText || text.Account != "17841400000000001" || text.User.ID != "900000000000001" {
		t.Errorf("text: %+v", text)
	}
	if storyReply.Story == nil || storyReply.Story.ID != "17900000000000001" || storyReply.Text != "amei esse look" {
		t.Errorf("story reply: %+v", storyReply)
	}
	if mention.Kind != channels.KindMedia || mention.Attachments[0].Type != "story_mention" || mention.Attachments[0].URL == "" {
		t.Errorf("story mention: %+v", mention)
	}
	if deleted.Kind != channels.KindDeleted || deleted.ReplyTo != text.ID || deleted.ID == text.ID {
		t.Errorf("deleted: it names the unsent message and has an id of its own: %+v", deleted)
	}
	if unsupported.Kind != channels.KindUnsupported {
		t.Errorf("unsupported: %+v", unsupported)
	}
	if read.Kind != channels.KindStatus || read.Status.Status != channels.StatusRead || read.Status.MessageIDs[0] != "aWdfZAG1faXRlbToxOklHTWVzc2FnZUlEOjU" {
		t.Errorf("read: %+v", read)
	}
	if echo.Kind != channels.KindEcho || echo.User.ID != "900000000000001" {
		t.Errorf("echo: %+v", echo)
	}
}

func newSender(graphURL, token string) channels.Sender {
	return NewSender(SenderConfig{GraphURL: graphURL, AccessToken: token})
}

func TestSender(t *testing.T) {
	channeltest.RunSender(t, channels.Instagram, newSender)
}

func TestSendSplitsAt1000Bytes(t *testing.T) {
	g := testkit.NewGraph(t)
	text := strings.Repeat("ç", 1200) // 2400 bytes, one word
	res, err := newSender(g.URL, "tok").Send(context.Background(), channels.Outbound{To: "1", Text: text, HumanAgent: true})
	if err != nil {
		t.Fatal(err)
	}
	reqs := g.Requests()
	if len(reqs) != 3 || len(res.MessageIDs) != 3 {
		t.Fatalf("%d requests, %d ids; want 3", len(reqs), len(res.MessageIDs))
	}
	var joined string
	for _, r := range reqs {
		part := r.Text
		if len(part) > 1000 || !utf8.ValidString(part) {
			t.Errorf("part of %d bytes (valid UTF-8: %v)", len(part), utf8.ValidString(part))
		}
		if !strings.Contains(string(r.Body), `"tag":"HUMAN_AGENT"`) {
			t.Errorf("part without the HUMAN_AGENT tag: %s", r.Body)
		}
		joined += part
	}
	if joined != text {
		t.Error("the parts do not add up to the text")
	}
}

func TestUploadLimits(t *testing.T) {
	var ue *channels.UnsupportedTypeError
	err := channels.CheckUpload(channels.Instagram, channels.MediaDocument, "application/pdf", 10)
	if !errors.As(err, &ue) || !ue.TypeRefused || err.Error() != `"document" files cannot be uploaded to Instagram; it takes image, audio, video` {
		t.Errorf("document: got %v", err)
	}
	err = channels.CheckUpload(channels.Instagram, channels.MediaImage, "image/gif", 10)
	if !errors.As(err, &ue) || err.Error() != `"image/gif" is not accepted for image files on Instagram; accepted: image/jpeg, image/png` {
		t.Errorf("gif: got %v", err)
	}
	var le *channels.LimitError
	err = channels.CheckUpload(channels.Instagram, channels.MediaImage, "image/png", 8*1000*1000+1)
	if !errors.As(err, &le) || err.Error() != "image files on Instagram may be at most 8 MB" {
		t.Errorf("large image: got %v", err)
	}
	for _, ok := range []struct {
		typ  channels.MediaType
		mime string
		size int64
	}{{channels.MediaImage, "image/jpeg", 8 * 1000 * 1000}, {channels.MediaVideo, "video/quicktime", 25 * 1000 * 1000}, {channels.MediaAudio, "audio/aac", -1}} {
		if err := channels.CheckUpload(channels.Instagram, ok.typ, ok.mime, ok.size); err != nil {
			t.Errorf("%s %s of %d bytes: %v", ok.typ, ok.mime, ok.size, err)
		}
	}
}

func TestUploadPath(t *testing.T) {
	g := testkit.NewGraph(t)
	s := NewSender(SenderConfig{GraphURL: g.URL, AccessToken: "tok", AccountID: "17841400000000001"})
	id, err := s.Upload(context.Background(), channels.Upload{Type: channels.MediaVideo, MIMEType: "video/mp4", Filename: "clip.mp4", Size: 5, Body: strings.NewReader("video")})
	if err != nil {
		t.Fatal(err)
	}
	if ups := g.Uploads(); len(ups) != 1 || ups[0].Account != "17841400000000001" || ups[0].AttachmentType != "video" || ups[0].ID != id {
		t.Errorf("uploads %+v", ups)
	}
}
