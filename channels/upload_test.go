package channels_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"switchboard/channels"
)

func TestCheckUpload(t *testing.T) {
	var ue *channels.UnsupportedTypeError
	var le *channels.LimitError
	for _, c := range []struct {
		name     string
		platform channels.Platform
		typ      channels.MediaType
		mime     string
		size     int64
		check    func(error) bool
	}{
		{"accepted, size unknown", channels.WhatsApp, channels.MediaImage, "image/jpeg", -1, func(err error) bool { return err == nil }},
		{"MIME type case and parameters ignored", channels.WhatsApp, channels.MediaAudio, "AUDIO/MP4; rate=44100", 1, func(err error) bool { return err == nil }},
		{"wildcard", channels.Messenger, channels.MediaImage, "image/gif", 1, func(err error) bool { return err == nil }},
		{"wildcard is per family", channels.Messenger, channels.MediaImage, "video/mp4", 1, func(err error) bool { return errors.As(err, &ue) }},
		{"any type still needs one", channels.Messenger, channels.MediaDocument, "", 1, func(err error) bool { return errors.As(err, &ue) && !ue.TypeRefused }},
		{"unparsable type", channels.Messenger, channels.MediaDocument, "text", 1, func(err error) bool { return errors.As(err, &ue) }},
		{"unknown media type", channels.WhatsApp, "hologram", "image/png", 1, func(err error) bool { return errors.As(err, &ue) && ue.TypeRefused }},
		{"type checked before size", channels.WhatsApp, channels.MediaImage, "image/gif", 1 << 40, func(err error) bool { return errors.As(err, &ue) }},
		{"too large", channels.WhatsApp, channels.MediaVideo, "video/mp4", 16_000_001, func(err error) bool {
			return errors.As(err, &le) && le.Limit == 16_000_000 && le.Size == 16_000_001 && le.Platform == channels.WhatsApp
		}},
		{"unknown platform", "telegram", channels.MediaImage, "image/png", 1, func(err error) bool {
			return err != nil && strings.Contains(err.Error(), "telegram") && !errors.As(err, &ue) && !errors.As(err, &le)
		}},
	} {
		if err := channels.CheckUpload(c.platform, c.typ, c.mime, c.size); !c.check(err) {
			t.Errorf("%s: got %v", c.name, err)
		}
	}
}

func TestUploadLimitTable(t *testing.T) {
	for _, p := range channels.Platforms {
		l, ok := channels.UploadLimit(p, channels.MediaImage)
		if !ok || l.MaxSize <= 0 || len(l.MIMETypes) == 0 {
			t.Errorf("%s: no image limit: %+v", p, l)
		}
	}
	if _, ok := channels.UploadLimit(channels.Instagram, channels.MediaDocument); ok {
		t.Error("Instagram takes no documents")
	}
}

func TestLimitReader(t *testing.T) {
	limit := &channels.LimitError{Platform: channels.WhatsApp, Type: channels.MediaSticker, Limit: 10, Size: 3}
	read := func(n int) ([]byte, error) {
		return io.ReadAll(channels.LimitReader(bytes.NewReader(bytes.Repeat([]byte("x"), n)), limit))
	}
	if got, err := read(10); err != nil || len(got) != 10 {
		t.Errorf("exactly the limit: %d bytes, %v", len(got), err)
	}
	got, err := read(11)
	var le *channels.LimitError
	if !errors.As(err, &le) || le.Size != -1 || le.Limit != 10 || len(got) != 10 {
		t.Errorf("one byte beyond: %d bytes, %v; want the first 10 bytes and a LimitError", len(got), err)
	}
	if err.Error() != "sticker files on WhatsApp may be at most 10 bytes" || limit.Size != 3 {
		t.Errorf("message %q, the template error changed: %+v", err, limit)
	}
	// Byte by byte, the same.
	got, err = io.ReadAll(channels.LimitReader(iotest.OneByteReader(strings.NewReader(strings.Repeat("y", 50))), limit))
	if !errors.As(err, &le) || len(got) != 10 {
		t.Errorf("one byte at a time: %d bytes, %v", len(got), err)
	}
	// The reader's own error passes through.
	broken := errors.New("broken")
	if _, err := io.ReadAll(channels.LimitReader(iotest.ErrReader(broken), limit)); !errors.Is(err, broken) {
		t.Errorf("got %v, want the reader's error", err)
	}
}
