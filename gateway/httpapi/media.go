package httpapi

import (
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

// media is GET /api/v1/media/{conversation_id}/{media_id}: a file the user
// sent, to an agent of the conversation's channel (403 to another),
// streamed with its Content-Type (a WhatsApp channel's token never reaches
// the agent), or a 302 to a Messenger or Instagram CDN URL when the CDN
// itself redirects.
//
// The file and its type come from the user, and the answer comes from the
// gateway's origin: only images, audio and video are shown inline; anything
// else (an HTML page, an SVG, a PDF) is a download, never sniffed into
// something else and, if opened anyway, sandboxed: no script, no
// same-origin access to the agent's session.
func (s *Server) media(c echo.Context) error {
	m, err := s.engine.Media(c.Request().Context(), agentOf(c), c.Param("id"), c.Param("media"))
	if err != nil {
		return err
	}
	if m.Redirect != "" {
		return c.Redirect(http.StatusFound, m.Redirect)
	}
	defer m.Body.Close()
	w := c.Response()
	w.Header().Set("Content-Type", m.ContentType)
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "sandbox")
	w.Header().Set("Content-Disposition", mediaDisposition(m.ContentType, m.FileName))
	if m.Length >= 0 {
		w.Header().Set("Content-Length", strconv.FormatInt(m.Length, 10))
	}
	w.WriteHeader(http.StatusOK)
	_, err = io.Copy(w, m.Body)
	return err
}

// mediaDisposition is inline for an image, audio or video, attachment for
// any other type, with the file name when there is one.
func mediaDisposition(contentType, fileName string) string {
	disposition := "attachment"
	if mt, _, err := mime.ParseMediaType(contentType); err == nil {
		switch kind, _, _ := strings.Cut(mt, "/"); kind {
		case "image", "audio", "video":
			// An SVG is an image that runs scripts.
			if mt != "image/svg+xml" {
				disposition = "inline"
			}
		}
	}
	if fileName == "" {
		return disposition
	}
	if v := mime.FormatMediaType(disposition, map[string]string{"filename": fileName}); v != "" {
		return v
	}
	return disposition
}

// messageBody is an agent's message: a text, an attachment by URL, or both.
type messageBody struct {
	Text       string          `json:"text"`
	Attachment *attachmentBody `json:"attachment"`
}

type attachmentBody struct {
	Type     string `json:"type"` // image, document, video, audio
	URL      string `json:"url"`
	Caption  string `json:"caption"`
	FileName string `json:"file_name"`
}

func bindMessage(c echo.Context) (messageBody, error) {
	var b messageBody
	if err := decodeJSON(c, 64<<10, &b, `{"text": "..."} or {"attachment": {"type": "image", "url": "https://...", "caption": "..."}}`); err != nil {
		return b, err
	}
	if a := b.Attachment; a != nil {
		switch a.Type {
		case "image", "document", "video", "audio":
		default:
			return b, errBadRequest("attachment.type must be image, document, video or audio")
		}
		if u, err := url.Parse(a.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return b, errBadRequest("attachment.url must be an absolute http(s) URL the platform can fetch")
		}
		return b, nil
	}
	if strings.TrimSpace(b.Text) == "" {
		return b, errBadRequest("text is empty")
	}
	return b, nil
}
