package meta

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"sync"

	"switchboard/channels"
)

// Field is a plain field of a multipart upload.
type Field struct{ Name, Value string }

// Upload checks u against the platform's limits (channels.CheckUpload),
// waits for the rate limiter, then POSTs a multipart/form-data body to
// <GraphURL>/<path>: fields, then u.Body as the part fileField, and decodes
// a 2xx answer into out.
//
// The body is streamed: a small head (the fields and the file part's
// header), the file read as it is sent, and the closing boundary, so a file
// is never held in memory. It is read through channels.LimitReader: a body
// that runs past the platform's limit, whatever u.Size said, stops the
// upload with a *channels.LimitError.
//
// Errors: *channels.UnsupportedTypeError or *channels.LimitError before
// anything is sent; *channels.LimitError when the body runs past the limit;
// the body's own read error, wrapped; *channels.SendError when the platform
// refuses or cannot be reached; ctx's error when it ends first.
func (c *Client) Upload(ctx context.Context, path string, fields []Field, fileField string, u channels.Upload, out any) error {
	if err := channels.CheckUpload(c.platform, u.Type, u.MIMEType, u.Size); err != nil {
		return err
	}
	if u.Body == nil {
		return fmt.Errorf("%s: upload of a %s without a body", c.platform, u.Type)
	}
	head, tail, contentType, err := multipartFrame(fields, fileField, u)
	if err != nil {
		return fmt.Errorf("%s: encoding upload: %w", c.platform, err)
	}
	if err := c.limiter.Wait(ctx); err != nil {
		return fmt.Errorf("%s: waiting for the rate limiter: %w", c.platform, err)
	}
	limit, _ := channels.UploadLimit(c.platform, u.Type)
	file := &watchedReader{r: channels.LimitReader(u.Body, &channels.LimitError{Platform: c.platform, Type: u.Type, Limit: limit.MaxSize})}
	body := io.MultiReader(bytes.NewReader(head), file, bytes.NewReader(tail))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/"+path, body)
	if err != nil {
		return fmt.Errorf("%s: building request: %w", c.platform, err)
	}
	req.Header.Set("Content-Type", contentType)
	err = c.call(c.upload, req, out)
	// When the file failed, that is the cause, not the network.
	if ferr := file.failure(); ferr != nil {
		if le := (*channels.LimitError)(nil); errors.As(ferr, &le) {
			return le
		}
		return fmt.Errorf("%s: reading the upload: %w", c.platform, ferr)
	}
	return err
}

// multipartFrame returns what goes before and after the file's bytes in a
// multipart/form-data body, and the body's Content-Type.
func multipartFrame(fields []Field, fileField string, u channels.Upload) (head, tail []byte, contentType string, err error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		if err := mw.WriteField(f.Name, f.Value); err != nil {
			return nil, nil, "", err
		}
	}
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename="%s"`, quoteEscaper.Replace(fileField), quoteEscaper.Replace(fileName(u))))
	h.Set("Content-Type", normalMIMEType(u.MIMEType))
	if _, err := mw.CreatePart(h); err != nil {
		return nil, nil, "", err
	}
	head = bytes.Clone(buf.Bytes())
	buf.Reset()
	if err := mw.Close(); err != nil {
		return nil, nil, "", err
	}
	return head, buf.Bytes(), mw.FormDataContentType(), nil
}

// quoteEscaper escapes a quoted header parameter as mime/multipart does.
var quoteEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

// fileName is u's file name without control characters (which would end
// the header) and path, or the media type's name.
func fileName(u channels.Upload) string {
	name := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, u.Filename)
	name = name[strings.LastIndexAny(name, `/\`)+1:]
	if strings.TrimSpace(name) == "" {
		return string(u.Type)
	}
	return name
}

// normalMIMEType rewrites a content type CheckUpload accepted in canonical
// form, parameters kept ("audio/ogg; codecs=opus").
func normalMIMEType(mimeType string) string {
	base, params, err := mime.ParseMediaType(mimeType)
	if err != nil {
		return channels.BaseMIMEType(mimeType)
	}
	if s := mime.FormatMediaType(base, params); s != "" {
		return s
	}
	return base
}

// watchedReader remembers the first error its reader returned besides
// io.EOF. The transport reads it on its own goroutine, hence the lock.
type watchedReader struct {
	r   io.Reader
	mu  sync.Mutex
	err error
}

func (w *watchedReader) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if err != nil && err != io.EOF {
		w.mu.Lock()
		if w.err == nil {
			w.err = err
		}
		w.mu.Unlock()
	}
	return n, err
}

func (w *watchedReader) failure() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// MissingID is the error of an upload answered with success but without
// the id field: a permanent bad_response SendError.
func (c *Client) MissingID(field string) error {
	return &channels.SendError{Platform: c.platform, HTTPStatus: http.StatusOK, Reason: ReasonBadResponse,
		Message: "the upload was answered without " + field}
}
