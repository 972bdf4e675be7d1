package httpapi

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/channels"
	"switchboard/gateway/engine"
	"switchboard/queue"
)

// Agents' uploads: POST /api/v1/conversations/{id}/attachments, multipart
// with a file part and an optional caption part. The file is streamed from
// the request to the platform (never parsed into memory or onto disk),
// then sent as a reply by the id the platform gave it (202, like a reply).

const (
	// uploadMargin is what a multipart body may hold beyond the file: the
	// parts' headers, the boundaries and the caption.
	uploadMargin = 1 << 20
	// maxCaption bounds the caption part.
	maxCaption = 4 << 10
	// uploadBodyDeadline is how long an upload's body may take to arrive:
	// 100 MB from a slow connection takes minutes, so this route's body
	// deadline is this rather than the JSON routes' few seconds.
	uploadBodyDeadline = 10 * time.Minute
)

func (s *Server) registerUploads(g *echo.Group) {
	g.POST("/conversations/:id/attachments", s.upload)
}

func (s *Server) upload(c echo.Context) error {
	r, w := c.Request(), c.Response()
	convID := c.Param("id")
	limit := s.engine.MaxUpload(convID)
	if limit == 0 {
		if _, err := s.engine.Conversation(r.Context(), agentOf(c), convID, "", 1); err != nil {
			return err
		}
		return queue.ErrNotFound // a channel no longer set up

	}
	if r.ContentLength > limit+uploadMargin {
		return &apiError{http.StatusRequestEntityTooLarge, "too_large", "the body is larger than any file this platform takes (" + formatMB(limit) + ")"}
	}
	// Errors are ignored: a connection that cannot take a deadline keeps
	// the server's own.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(uploadBodyDeadline))
	r.Body = http.MaxBytesReader(w, r.Body, limit+uploadMargin)
	mr, err := r.MultipartReader()
	if err != nil {
		return errBadRequest("body must be multipart/form-data with a file part (and an optional caption part)")
	}
	var att *channels.Attachment
	caption := ""
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return bodyError(err)
		}
		switch part.FormName() {
		case "caption":
			b, err := io.ReadAll(io.LimitReader(part, maxCaption+1))
			if err != nil {
				return bodyError(err)
			}
			if len(b) > maxCaption {
				return errBadRequest("caption is longer than 4 KiB")
			}
			caption = string(b)
		case "file":
			if att != nil {
				return errBadRequest("send one file part")
			}
			mimeType := part.Header.Get("Content-Type")
			if _, _, err := mime.ParseMediaType(mimeType); err != nil {
				return &apiError{http.StatusUnsupportedMediaType, "unsupported_media_type", "the file part needs a Content-Type such as image/jpeg"}
			}
			a, err := s.engine.Upload(r.Context(), agentOf(c), convID, channels.Upload{
				Type: engine.UploadType(mimeType), MIMEType: mimeType, Filename: part.FileName(), Size: -1, Body: part,
			})
			if err != nil {
				var tooBig *http.MaxBytesError
				if errors.As(err, &tooBig) {
					return bodyError(err)
				}
				return err
			}
			att = &a
		}
		part.Close()
	}
	if att == nil {
		return errBadRequest("the file part is missing")
	}
	att.Caption = strings.TrimSpace(caption)
	entry, err := s.engine.Reply(r.Context(), agentOf(c), convID, "", att)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, map[string]string{"id": entry.ID, "status": "queued"})
}

// bodyError is a multipart body that could not be read: too large (413)
// or malformed (400).
func bodyError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &apiError{http.StatusRequestEntityTooLarge, "too_large", "the body is larger than any file this platform takes"}
	}
	return errBadRequest("the multipart body could not be read: " + err.Error())
}

// formatMB writes a byte count in MB (10^6 bytes), as the platforms do.
func formatMB(n int64) string {
	return strconv.FormatInt(n/1_000_000, 10) + " MB"
}
