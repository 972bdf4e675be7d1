package testkit

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"switchboard/channels"
)

// Media is a WhatsApp media item the fake serves: GET /<ID> answers its
// download URL and metadata, and the URL serves Data with MimeType.
type Media struct {
	ID       string
	MimeType string
	Data     []byte
	Token    string // when set, both GETs require "Bearer <Token>", else 401
}

// Upload is one media upload the fake accepted.
type Upload struct {
	Platform      channels.Platform // WhatsApp (/media) or Messenger (/message_attachments, Instagram too)
	Account       string            // the path's id: phone_number_id, page id, "me"
	Authorization string
	ID            string // the id answered: a media id or an attachment_id

	// WhatsApp fields.
	MessagingProduct string // must be "whatsapp"
	Type             string // the type field: a MIME type

	// Messenger and Instagram: the message field's attachment type ("image",
	// "file"...) and is_reusable.
	AttachmentType string
	Reusable       bool

	FileName string // the file part's file name
	FileType string // the file part's Content-Type
	Data     []byte
}

// serveUpload accepts a multipart upload: WhatsApp's file, type and
// messaging_product fields, or Messenger's message and filedata. A missing
// part is answered as Meta does, with code 100.
func (g *Graph) serveUpload(w http.ResponseWriter, r *http.Request, account string, p channels.Platform) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseMultipartForm(maxBody); err != nil {
		writeError(w, ErrInvalidParameter.With("the body is not multipart/form-data: "+err.Error()))
		return
	}
	u := Upload{Platform: p, Account: account, Authorization: r.Header.Get("Authorization")}
	fileField := "file"
	if p == channels.WhatsApp {
		u.MessagingProduct, u.Type = r.FormValue("messaging_product"), r.FormValue("type")
		if u.MessagingProduct != "whatsapp" {
			writeError(w, ErrInvalidParameter.With("the parameter messaging_product is required and must be whatsapp"))
			return
		}
	} else {
		fileField = "filedata"
		var msg struct {
			Attachment struct {
				Type    string `json:"type"`
				Payload struct {
					IsReusable bool `json:"is_reusable"`
				} `json:"payload"`
			} `json:"attachment"`
		}
		if err := json.Unmarshal([]byte(r.FormValue("message")), &msg); err != nil || msg.Attachment.Type == "" {
			writeError(w, ErrInvalidParameter.With(`the parameter message must be {"attachment":{"type":...}}`))
			return
		}
		u.AttachmentType, u.Reusable = msg.Attachment.Type, msg.Attachment.Payload.IsReusable
	}
	f, hdr, err := r.FormFile(fileField)
	if err != nil {
		writeError(w, ErrInvalidParameter.With("the file part "+fileField+" is missing"))
		return
	}
	defer f.Close()
	if u.Data, err = io.ReadAll(f); err != nil {
		writeError(w, ErrInvalidParameter.With("the file could not be read"))
		return
	}
	u.FileName, u.FileType = hdr.Filename, hdr.Header.Get("Content-Type")
	n := g.ids.Add(1)
	mime := u.Type
	if mime == "" {
		mime = u.FileType
	}
	if p == channels.WhatsApp {
		u.ID = strconv.FormatInt(1_000_000_000_000_000+n, 10)
	} else {
		u.ID = strconv.FormatInt(2_000_000_000_000_000+n, 10)
	}
	g.mu.Lock()
	g.uploads = append(g.uploads, u)
	g.media[u.ID] = Media{ID: u.ID, MimeType: mime, Data: u.Data}
	g.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if p == channels.WhatsApp {
		fmt.Fprintf(w, `{"id":%q}`, u.ID)
	} else {
		fmt.Fprintf(w, `{"attachment_id":%q}`, u.ID)
	}
}

// lookup returns a known media item, checking the token it requires.
func (g *Graph) lookup(w http.ResponseWriter, r *http.Request, id string) (Media, bool) {
	g.mu.Lock()
	m, ok := g.media[id]
	g.mu.Unlock()
	switch {
	case !ok:
		writeError(w, ErrUnknownObject.With("unknown media id "+id))
		return Media{}, false
	case m.Token != "" && r.Header.Get("Authorization") != "Bearer "+m.Token:
		writeError(w, ErrTokenExpired)
		return Media{}, false
	}
	return m, true
}

// serveMediaURL answers GET /<media id> as the Cloud API does.
func (g *Graph) serveMediaURL(w http.ResponseWriter, r *http.Request, id string) {
	m, ok := g.lookup(w, r, id)
	if !ok {
		return
	}
	sum := sha256.Sum256(m.Data)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"messaging_product": "whatsapp",
		"url":               g.URL + "/download/" + id,
		"mime_type":         m.MimeType,
		"sha256":            base64.StdEncoding.EncodeToString(sum[:]),
		"file_size":         len(m.Data),
		"id":                id,
	})
}

// serveDownload serves a media item's bytes.
func (g *Graph) serveDownload(w http.ResponseWriter, r *http.Request, id string) {
	m, ok := g.lookup(w, r, id)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", m.MimeType)
	w.Write(m.Data)
}
