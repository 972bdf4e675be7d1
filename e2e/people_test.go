package e2e

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
)

// TestConsoleDay is an agent's day from the console against the binary:
// sign in with a password, take a conversation, reply with a picture
// (uploaded to the platform, then sent by its id), transfer it to a
// colleague, sign out; the cookie then stops working.
func TestConsoleDay(t *testing.T) {
	t.Parallel()
	g := startGateway(t, options{})
	u := g.newUser(chOpen)
	u.Says(t, "agent")
	u.Receives(t, txtTransferred)
	g.waitState(t, u.ConversationID(), "waiting")

	status, body, header := g.console(t, http.MethodPost, "/api/v1/session", nil, "application/json", []byte(`{"agent":"ana","password":"ana-e2e-password"}`))
	if status != http.StatusOK {
		t.Fatalf("sign-in: %d %s", status, body)
	}
	var me struct {
		CSRF string `json:"csrf_token"`
	}
	_ = json.Unmarshal(body, &me)
	cookie := (&http.Response{Header: header}).Cookies()
	if len(cookie) != 1 || !cookie[0].HttpOnly || cookie[0].SameSite != http.SameSiteStrictMode || me.CSRF == "" {
		t.Fatalf("sign-in cookie %+v, csrf %q", cookie, me.CSRF)
	}
	session := http.Header{"Cookie": {cookie[0].String()}, "X-Csrf-Token": {me.CSRF}}

	if status, body, _ := g.console(t, http.MethodPost, "/api/v1/queue/claim", session, "", nil); status != http.StatusOK {
		t.Fatalf("claim: %d %s", status, body)
	}
	u.Receives(t, txtAssignedAna)

	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("caption", "your receipt")
	part, _ := w.CreatePart(textproto.MIMEHeader{
		"Content-Disposition": {`form-data; name="file"; filename="receipt.png"`},
		"Content-Type":        {"image/png"},
	})
	photo := bytes.Repeat([]byte("png!"), 2048)
	_, _ = part.Write(photo)
	_ = w.Close()
	if status, body, _ := g.console(t, http.MethodPost, conv(u, "/attachments"), session, w.FormDataContentType(), buf.Bytes()); status != http.StatusAccepted {
		t.Fatalf("upload: %d %s", status, body)
	}
	ups := g.Graph.Uploads()
	if len(ups) != 1 || !bytes.Equal(ups[0].Data, photo) {
		t.Fatalf("uploads %d, want the picture", len(ups))
	}
	eventually(t, "the picture is sent by its id", func() bool {
		for _, s := range g.Graph.To(u.ID) {
			if s.Media != nil && s.Media.ID == ups[0].ID && s.Media.Caption == "your receipt" {
				return true
			}
		}
		return false
	})

	status, body, _ = g.console(t, http.MethodPost, conv(u, "/transfer"), session, "application/json", []byte(`{"agent":"bruno"}`))
	if status != http.StatusOK || !strings.Contains(string(body), `"assigned_to":"bruno"`) {
		t.Fatalf("transfer: %d %s", status, body)
	}
	if status, body, _ := g.console(t, http.MethodDelete, "/api/v1/session", session, "", nil); status != http.StatusNoContent {
		t.Fatalf("sign-out: %d %s", status, body)
	}
	if status, _, _ := g.console(t, http.MethodGet, "/api/v1/agents/me", session, "", nil); status != http.StatusUnauthorized {
		t.Errorf("the cookie after sign-out: %d, want 401", status)
	}
}

// console calls the API as the console does (headers carry the session),
// checking the exchange against the OpenAPI document.
func (g *Gateway) console(t *testing.T, method, path string, header http.Header, contentType string, body []byte) (int, []byte, http.Header) {
	t.Helper()
	header = header.Clone()
	if contentType != "" {
		if header == nil {
			header = http.Header{}
		}
		header.Set("Content-Type", contentType)
	}
	status, data, respHeader := g.exchange(t, method, path, "", header, body)
	if status == 0 {
		t.Fatal(string(data))
	}
	return status, data, respHeader
}
