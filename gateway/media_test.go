package gateway

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"switchboard/channels"
	"switchboard/internal/testkit"
)

// getMedia GETs a media file as ana, through the OpenAPI-checked client,
// without following a redirect.
func (h *harness) getMedia(convID, mediaID string) (*http.Response, string) {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.base+"/api/v1/media/"+convID+"/"+mediaID, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+anaToken)
	client := *h.apiClient
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		h.t.Fatalf("GET media %s: %v", mediaID, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// A user's file is served so that it cannot run in the gateway's origin:
// only images, audio and video inline, never sniffed, always sandboxed.
func TestMediaServedSafely(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	u := waUser{id: "5511900000040", name: "Sender"}
	files := []struct {
		id, mime, name, wantDisposition string
	}{
		{"1000000000000041", "text/html", "invoice.html", `attachment; filename=invoice.html`},
		{"1000000000000042", "image/svg+xml", "", "attachment"},
		{"1000000000000043", "image/jpeg", "photo.jpg", `inline; filename=photo.jpg`},
		{"1000000000000044", "video/mp4", "", "inline"},
		{"1000000000000045", "application/pdf", "relatório final.pdf", `attachment; filename*=utf-8''relat%C3%B3rio%20final.pdf`},
	}
	for i, f := range files {
		h.graph.AddMedia(testkit.Media{ID: f.id, MimeType: f.mime, Data: []byte("<script>alert(1)</script>")})
		kind := "document"
		if strings.HasPrefix(f.mime, "image/") {
			kind = "image"
		} else if strings.HasPrefix(f.mime, "video/") {
			kind = "video"
		}
		h.postOK("whatsapp", testkit.WhatsAppMessage(waPhoneID, testkit.Inbound{ID: "wamid.MD" + f.id, From: u.id, Name: u.name,
			At: insideHours.Add(time.Duration(i) * time.Second), Media: &testkit.InboundMedia{Type: kind, ID: f.id, MimeType: f.mime, Filename: f.name}}))
	}
	h.settle()
	for _, f := range files {
		resp, body := h.getMedia(u.conv(), f.id)
		if resp.StatusCode != http.StatusOK || body != "<script>alert(1)</script>" {
			t.Errorf("%s: %d %q", f.mime, resp.StatusCode, body)
			continue
		}
		hdr := resp.Header
		if got := hdr.Get("Content-Disposition"); got != f.wantDisposition {
			t.Errorf("%s: Content-Disposition %q, want %q", f.mime, got, f.wantDisposition)
		}
		if hdr.Get("X-Content-Type-Options") != "nosniff" || hdr.Get("Content-Security-Policy") != "sandbox" {
			t.Errorf("%s: X-Content-Type-Options %q, Content-Security-Policy %q; want nosniff and sandbox",
				f.mime, hdr.Get("X-Content-Type-Options"), hdr.Get("Content-Security-Policy"))
		}
	}
}

// A Messenger attachment's URL is a redirect only when it is https.
func TestMediaRedirectOnlyToHTTPS(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	u := fbUser{psid: "7000000000000041"}
	for i, link := range []string{"https://cdn.example/a.jpg", "http://cdn.example/b.jpg", "javascript:alert(1)"} {
		h.postOK("messenger", testkit.Message(channels.Messenger, fbPageID, testkit.Inbound{ID: "m_MR" + string(rune('1'+i)), From: u.psid,
			At: insideHours.Add(time.Duration(i) * time.Second), Media: &testkit.InboundMedia{Type: "image", URL: link}}))
	}
	h.settle()
	ids := map[string]string{}
	for _, e := range h.transcript(u.conv()) {
		for _, a := range e.Attachments {
			ids[a.URL] = e.ID + ".0"
		}
	}
	if len(ids) != 3 {
		t.Fatalf("attachments in the transcript: %v, want 3", ids)
	}
	resp, _ := h.getMedia(u.conv(), ids["https://cdn.example/a.jpg"])
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "https://cdn.example/a.jpg" {
		t.Errorf("https attachment: %d to %q, want 302 to it", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, link := range []string{"http://cdn.example/b.jpg", "javascript:alert(1)"} {
		if resp, _ := h.getMedia(u.conv(), ids[link]); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s attachment: %d (Location %q), want 404", link, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}
