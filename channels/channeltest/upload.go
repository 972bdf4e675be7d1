package channeltest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"switchboard/channels"
	"switchboard/internal/testkit"
)

// RunUploader runs the upload suite against a testkit.Graph; the Sender
// newSender builds must implement channels.Uploader. An upload reaches the
// Graph API as multipart with the platform's fields and the file's bytes,
// and a send then carries the id it returned; sizes and types the platform
// does not take are refused with *channels.LimitError or
// *channels.UnsupportedTypeError before any call; a body longer than
// declared is cut at the limit with *channels.LimitError; a 20 MB stream
// is uploaded without being held in memory; the body's own read error,
// the network and a cancelled ctx are reported as such.
func RunUploader(t *testing.T, platform channels.Platform, newSender NewSender) {
	ctx := context.Background()
	setup := func(t *testing.T) (*testkit.Graph, channels.Sender, channels.Uploader) {
		t.Helper()
		g := testkit.NewGraph(t)
		s := newSender(g.URL, token)
		u, ok := s.(channels.Uploader)
		if !ok {
			t.Fatalf("%T does not implement channels.Uploader", s)
		}
		return g, s, u
	}
	jpeg := []byte("\xff\xd8\xff\xe0 a small generated JPEG \xff\xd9")
	t.Run("image then send by id", func(t *testing.T) {
		g, s, u := setup(t)
		id, err := u.Upload(ctx, channels.Upload{Type: channels.MediaImage, MIMEType: "image/jpeg", Filename: "receipt.jpg",
			Size: int64(len(jpeg)), Body: bytes.NewReader(jpeg)})
		if err != nil {
			t.Fatal(err)
		}
		ups := g.Uploads()
		if len(ups) != 1 {
			t.Fatalf("%d uploads, want 1", len(ups))
		}
		up := ups[0]
		if up.ID != id || !bytes.Equal(up.Data, jpeg) || up.FileName != "receipt.jpg" || up.FileType != "image/jpeg" ||
			up.Authorization != "Bearer "+token {
			t.Errorf("upload recorded as %+v, want id %s and the file's bytes, name and type", up, id)
		}
		if platform == channels.WhatsApp {
			if up.Platform != channels.WhatsApp || up.MessagingProduct != "whatsapp" || up.Type != "image/jpeg" {
				t.Errorf("WhatsApp upload fields: %+v", up)
			}
		} else if up.Platform != channels.Messenger || up.AttachmentType != "image" || !up.Reusable {
			t.Errorf("message_attachments upload fields: %+v", up)
		}
		res, err := s.Send(ctx, channels.Outbound{To: "5511987654321",
			Attachment: &channels.Attachment{Type: string(channels.MediaImage), MediaID: id}})
		if err != nil {
			t.Fatal(err)
		}
		sends := g.Sends()
		if len(sends) != 1 || sends[0].Media == nil || sends[0].Media.ID != id || sends[0].Media.Link != "" ||
			sends[0].Media.Type != "image" || len(res.MessageIDs) != 1 {
			t.Errorf("sends %+v (ids %v), want one image by id %s", sends, res.MessageIDs, id)
		}
	})
	t.Run("refused before sending", func(t *testing.T) {
		g, _, u := setup(t)
		limit, _ := channels.UploadLimit(platform, channels.MediaImage)
		_, err := u.Upload(ctx, channels.Upload{Type: channels.MediaImage, MIMEType: "image/jpeg", Size: limit.MaxSize + 1, Body: bytes.NewReader(jpeg)})
		var le *channels.LimitError
		if !errors.As(err, &le) || le.Limit != limit.MaxSize || le.Platform != platform || le.Type != channels.MediaImage {
			t.Errorf("declared size beyond the limit: got %v, want a LimitError of %d bytes", err, limit.MaxSize)
		}
		_, err = u.Upload(ctx, channels.Upload{Type: channels.MediaImage, MIMEType: "application/x-msdownload", Size: 10, Body: bytes.NewReader(jpeg)})
		var ue *channels.UnsupportedTypeError
		if !errors.As(err, &ue) || len(ue.Accepted) == 0 || !strings.Contains(err.Error(), ue.Accepted[0]) {
			t.Errorf("unsupported MIME type: got %v, want an UnsupportedTypeError naming the accepted types", err)
		}
		_, err = u.Upload(ctx, channels.Upload{Type: "gif", MIMEType: "image/gif", Size: 10, Body: bytes.NewReader(jpeg)})
		if !errors.As(err, &ue) || !ue.TypeRefused {
			t.Errorf("unknown media type: got %v, want an UnsupportedTypeError", err)
		}
		if n := len(g.Uploads()); n != 0 {
			t.Errorf("%d uploads reached the platform, want none", n)
		}
	})
	t.Run("body longer than declared", func(t *testing.T) {
		g, _, u := setup(t)
		typ, limit := smallestLimit(platform)
		_, err := u.Upload(ctx, channels.Upload{Type: typ, MIMEType: sampleMIME(limit), Size: 1000,
			Body: &generated{left: limit.MaxSize + 1}})
		var le *channels.LimitError
		if !errors.As(err, &le) || le.Limit != limit.MaxSize || le.Size != -1 {
			t.Errorf("got %v, want a LimitError of %d bytes found while streaming", err, limit.MaxSize)
		}
		if n := len(g.Uploads()); n != 0 {
			t.Errorf("%d uploads accepted, want none", n)
		}
	})
	t.Run("exactly the limit", func(t *testing.T) {
		g, _, u := setup(t)
		typ, limit := smallestLimit(platform)
		if _, err := u.Upload(ctx, channels.Upload{Type: typ, MIMEType: sampleMIME(limit), Size: -1,
			Body: &generated{left: limit.MaxSize}}); err != nil {
			t.Fatal(err)
		}
		if ups := g.Uploads(); len(ups) != 1 || int64(len(ups[0].Data)) != limit.MaxSize {
			t.Errorf("uploads %d, want one of %d bytes", len(ups), limit.MaxSize)
		}
	})
	t.Run("streamed, not held in memory", func(t *testing.T) {
		const size = 20 * 1000 * 1000
		typ, limit := largeType(t, platform, size)
		var received atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mr, err := r.MultipartReader()
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			for {
				part, err := mr.NextPart()
				if err != nil {
					break
				}
				if part.FileName() != "" {
					n, _ := io.Copy(io.Discard, part)
					received.Add(n)
				}
			}
			io.WriteString(w, `{"id":"1","attachment_id":"1"}`)
		}))
		defer srv.Close()
		u, ok := newSender(srv.URL, token).(channels.Uploader)
		if !ok {
			t.Fatal("not an Uploader")
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		if _, err := u.Upload(ctx, channels.Upload{Type: typ, MIMEType: sampleMIME(limit), Size: size, Body: &generated{left: size}}); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		if received.Load() != size {
			t.Errorf("the server received %d bytes of file, want %d", received.Load(), size)
		}
		// Client and server together: a held copy would be 20 MB at least.
		if grown := after.TotalAlloc - before.TotalAlloc; grown > size/5 {
			t.Errorf("uploading %d bytes allocated %d bytes", size, grown)
		}
	})
	t.Run("body read error", func(t *testing.T) {
		g, _, u := setup(t)
		broken := errors.New("client went away")
		_, err := u.Upload(ctx, channels.Upload{Type: channels.MediaImage, MIMEType: "image/jpeg", Size: -1,
			Body: io.MultiReader(bytes.NewReader(jpeg), &failing{broken})})
		if !errors.Is(err, broken) || channels.IsRetryable(err) {
			t.Errorf("got %v, want the body's own error, not retryable", err)
		}
		if n := len(g.Uploads()); n != 0 {
			t.Errorf("%d uploads accepted, want none", n)
		}
	})
	t.Run("network error", func(t *testing.T) {
		u, _ := newSender("http://127.0.0.1:1", token).(channels.Uploader)
		if u == nil {
			t.Fatal("not an Uploader")
		}
		_, err := u.Upload(ctx, channels.Upload{Type: channels.MediaImage, MIMEType: "image/jpeg", Size: -1, Body: bytes.NewReader(jpeg)})
		var se *channels.SendError
		if !errors.As(err, &se) || !se.Retryable || se.Reason != "network" {
			t.Errorf("got %v, want a retryable network SendError", err)
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		g, _, u := setup(t)
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		_, err := u.Upload(cancelled, channels.Upload{Type: channels.MediaImage, MIMEType: "image/jpeg", Size: -1, Body: bytes.NewReader(jpeg)})
		if !errors.Is(err, context.Canceled) || channels.IsRetryable(err) || len(g.Uploads()) != 0 {
			t.Errorf("got %v with %d uploads, want a non-retryable context.Canceled and none", err, len(g.Uploads()))
		}
	})
}

// smallestLimit returns the platform's media type with the smallest size
// limit.
func smallestLimit(p channels.Platform) (channels.MediaType, channels.MediaLimit) {
	var typ channels.MediaType
	var best channels.MediaLimit
	for _, t := range []channels.MediaType{channels.MediaImage, channels.MediaAudio, channels.MediaVideo, channels.MediaDocument, channels.MediaSticker} {
		if l, ok := channels.UploadLimit(p, t); ok && (typ == "" || l.MaxSize < best.MaxSize) {
			typ, best = t, l
		}
	}
	return typ, best
}

// largeType returns a media type of the platform that takes size bytes.
func largeType(t testing.TB, p channels.Platform, size int64) (channels.MediaType, channels.MediaLimit) {
	t.Helper()
	for _, typ := range []channels.MediaType{channels.MediaDocument, channels.MediaVideo, channels.MediaAudio} {
		if l, ok := channels.UploadLimit(p, typ); ok && l.MaxSize >= size {
			return typ, l
		}
	}
	t.Fatalf("%s takes no file of %d bytes", p, size)
	return "", channels.MediaLimit{}
}

// sampleMIME returns a content type the limit accepts.
func sampleMIME(l channels.MediaLimit) string {
	if len(l.MIMETypes) == 0 {
		return "application/pdf"
	}
	m := l.MIMETypes[0]
	if prefix, ok := strings.CutSuffix(m, "*"); ok {
		return prefix + map[string]string{"image/": "jpeg", "audio/": "mpeg", "video/": "mp4"}[prefix]
	}
	return m
}

// generated is a reader of left generated bytes that allocates nothing.
type generated struct{ left int64 }

func (g *generated) Read(p []byte) (int, error) {
	if g.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > g.left {
		p = p[:g.left]
	}
	for i := range p {
		p[i] = byte('a' + i%26)
	}
	g.left -= int64(len(p))
	return len(p), nil
}

// failing is a reader that fails with err.
type failing struct{ err error }

func (f *failing) Read([]byte) (int, error) { return 0, f.err }
