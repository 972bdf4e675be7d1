package channels

import (
	"context"
	"fmt"
	"io"
	"mime"
	"strings"
)

// MediaType is the kind of file an upload carries. Its values are also
// Attachment.Type values, so an uploaded file is sent as
// Attachment{Type: string(t), MediaID: <the id Upload returned>}.
type MediaType string

// Media types an upload may be. Messenger and Instagram call a document a
// "file"; the adapters translate.
const (
	MediaImage    MediaType = "image"
	MediaAudio    MediaType = "audio"
	MediaVideo    MediaType = "video"
	MediaDocument MediaType = "document"
	MediaSticker  MediaType = "sticker"
)

// mediaTypes fixes the order in which error messages list media types.
var mediaTypes = []MediaType{MediaImage, MediaAudio, MediaVideo, MediaDocument, MediaSticker}

// Upload is a file to upload to a platform, to be sent afterwards by the id
// the platform gives it.
type Upload struct {
	Type MediaType
	// MIMEType is the file's content type, e.g. "image/jpeg" or
	// "audio/ogg; codecs=opus"; parameters are allowed.
	MIMEType string
	// Filename is sent as the file part's name (WhatsApp shows it for
	// documents); "" means the media type's name.
	Filename string
	// Size is the declared size in bytes, checked before anything is sent;
	// negative when unknown. The body is cut at the platform's limit
	// whatever Size says.
	Size int64
	// Body is read once, streamed to the platform, never held in memory.
	Body io.Reader
}

// Uploader uploads files to a platform (WhatsApp, Messenger and Instagram
// Senders implement it).
type Uploader interface {
	// Upload checks u with CheckUpload, then streams it to the platform and
	// returns the id to send it by (Attachment.MediaID). It returns
	// *LimitError or *UnsupportedTypeError before calling the platform, a
	// *LimitError when the body runs past the limit, the body's own read
	// error (wrapped), *SendError when the platform refuses or cannot be
	// reached, and ctx's error when ctx ends first.
	Upload(ctx context.Context, u Upload) (mediaID string, err error)
}

// MediaLimit is what a platform accepts for one media type.
type MediaLimit struct {
	MaxSize int64 // bytes
	// MIMETypes are the accepted content types, lower case; "audio/*"
	// accepts any audio type; nil accepts any type.
	MIMETypes []string
}

// Sizes as Meta writes them. MB is read as 10^6 bytes, the stricter of the
// two readings: a file refused here gets a clear answer, a file refused by
// the platform only a media error.
const (
	kB = 1000
	mB = 1000 * kB
)

// mediaLimits are the platforms' upload limits, as Meta documents them: the
// WhatsApp Cloud API's supported media types (image 5 MB jpeg/png, audio and
// video 16 MB, document 100 MB, sticker 500 KB webp, the animated maximum,
// a static sticker being at most 100 KB), the Messenger Send API
// (attachments up to 25 MB, no type list) and Instagram Messaging (images up
// to 8 MB png/jpeg, audio and video up to 25 MB, no documents).
var mediaLimits = map[Platform]map[MediaType]MediaLimit{
	WhatsApp: {
		MediaImage: {5 * mB, []string{"image/jpeg", "image/png"}},
		MediaAudio: {16 * mB, []string{"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}},
		MediaVideo: {16 * mB, []string{"video/mp4", "video/3gpp"}},
		MediaDocument: {100 * mB, []string{
			"application/pdf", "text/plain", "text/csv", "application/rtf",
			"application/msword", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
			"application/vnd.ms-excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
			"application/vnd.ms-powerpoint", "application/vnd.openxmlformats-officedocument.presentationml.presentation",
			"application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
			"application/vnd.oasis.opendocument.presentation", "application/zip",
		}},
		MediaSticker: {500 * kB, []string{"image/webp"}},
	},
	Messenger: {
		MediaImage:    {25 * mB, []string{"image/*"}},
		MediaAudio:    {25 * mB, []string{"audio/*"}},
		MediaVideo:    {25 * mB, []string{"video/*"}},
		MediaDocument: {25 * mB, nil},
	},
	Instagram: {
		MediaImage: {8 * mB, []string{"image/jpeg", "image/png"}},
		MediaAudio: {25 * mB, []string{"audio/*"}},
		MediaVideo: {25 * mB, []string{"video/*"}},
	},
}

// UploadLimit returns what platform accepts for media type t; false when
// the platform takes no upload of that type.
func UploadLimit(platform Platform, t MediaType) (MediaLimit, bool) {
	l, ok := mediaLimits[platform][t]
	return l, ok
}

// CheckUpload tells whether platform takes a file of media type t, content
// type mimeType and size bytes (negative when unknown), before any of it is
// read. It returns *UnsupportedTypeError for a media type the platform does
// not take or a content type it does not accept for it, *LimitError for a
// size beyond the limit, and an error naming the platform when it is
// unknown.
func CheckUpload(platform Platform, t MediaType, mimeType string, size int64) error {
	limits, ok := mediaLimits[platform]
	if !ok {
		return fmt.Errorf("channels: unknown platform %q", platform)
	}
	limit, ok := limits[t]
	if !ok {
		var accepted []string
		for _, mt := range mediaTypes {
			if _, ok := limits[mt]; ok {
				accepted = append(accepted, string(mt))
			}
		}
		return &UnsupportedTypeError{Platform: platform, Type: t, MIMEType: mimeType, Accepted: accepted, TypeRefused: true}
	}
	if !limit.accepts(mimeType) {
		return &UnsupportedTypeError{Platform: platform, Type: t, MIMEType: mimeType, Accepted: limit.MIMETypes}
	}
	if size > limit.MaxSize {
		return &LimitError{Platform: platform, Type: t, Limit: limit.MaxSize, Size: size}
	}
	return nil
}

// BaseMIMEType returns the content type of mimeType without parameters, in
// lower case ("audio/ogg; codecs=opus" -> "audio/ogg"); "" when it does not
// parse.
func BaseMIMEType(mimeType string) string {
	base, _, err := mime.ParseMediaType(mimeType)
	if err != nil || !strings.Contains(base, "/") {
		return ""
	}
	return base
}

func (l MediaLimit) accepts(mimeType string) bool {
	base := BaseMIMEType(mimeType)
	if base == "" {
		return false
	}
	if l.MIMETypes == nil {
		return true
	}
	for _, m := range l.MIMETypes {
		if prefix, ok := strings.CutSuffix(m, "*"); (ok && strings.HasPrefix(base, prefix)) || m == base {
			return true
		}
	}
	return false
}

// LimitError is a file larger than the platform takes for its media type:
// declared so (Size) or found so while streaming (Size -1). An HTTP API
// answers it with 413.
type LimitError struct {
	Platform Platform
	Type     MediaType
	Limit    int64 // bytes
	Size     int64 // the declared size, or -1 when the body ran past Limit
}

// Error names the limit, e.g. "image files on WhatsApp may be at most 5 MB".
func (e *LimitError) Error() string {
	return fmt.Sprintf("%s files on %s may be at most %s", e.Type, e.Platform.name(), formatSize(e.Limit))
}

// UnsupportedTypeError is a file the platform does not take: a media type
// it has no upload for (TypeRefused, Accepted lists its media types) or a
// content type it does not accept for the media type (Accepted lists the
// content types). An HTTP API answers it with 415.
type UnsupportedTypeError struct {
	Platform    Platform
	Type        MediaType
	MIMEType    string
	Accepted    []string
	TypeRefused bool
}

// Error names what is accepted instead.
func (e *UnsupportedTypeError) Error() string {
	if e.TypeRefused {
		return fmt.Sprintf("%q files cannot be uploaded to %s; it takes %s", e.Type, e.Platform.name(), strings.Join(e.Accepted, ", "))
	}
	return fmt.Sprintf("%q is not accepted for %s files on %s; accepted: %s", e.MIMEType, e.Type, e.Platform.name(), strings.Join(e.Accepted, ", "))
}

// LimitReader returns a reader of r that fails with err once more than
// err.Limit bytes would be read: it hands out the first err.Limit bytes,
// then err (with Size -1), so a body longer than declared is cut at the
// platform's limit.
func LimitReader(r io.Reader, err *LimitError) io.Reader {
	e := *err
	e.Size = -1
	return &limitedReader{r: r, left: e.Limit, err: &e}
}

type limitedReader struct {
	r    io.Reader
	left int64 // bytes still allowed; -1 once the limit was passed
	err  *LimitError
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, l.err
	}
	// Read one byte beyond the limit, to tell a body of exactly Limit bytes
	// from a longer one.
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n - 1, l.err
	}
	return n, err
}

// name is the platform's name as people write it.
func (p Platform) name() string {
	switch p {
	case WhatsApp:
		return "WhatsApp"
	case Messenger:
		return "Messenger"
	case Instagram:
		return "Instagram"
	}
	return string(p)
}

// formatSize writes n bytes in the largest unit that divides it.
func formatSize(n int64) string {
	switch {
	case n >= mB && n%mB == 0:
		return fmt.Sprintf("%d MB", n/mB)
	case n >= kB && n%kB == 0:
		return fmt.Sprintf("%d KB", n/kB)
	}
	return fmt.Sprintf("%d bytes", n)
}
