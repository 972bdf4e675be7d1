package gateway

import (
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
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

// A Messenger attachment is streamed from its https CDN URL, so that the
// console shows it from its own origin; a CDN redirect is passed on to the
// agent, an expired URL is a 404, and an http or javascript: URL is never
// fetched nor given out.
func TestMediaFromTheCDN(t *testing.T) {
	var fetched atomic.Int32
	cdn := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetched.Add(1)
		switch r.URL.Path {
		case "/a.jpg":
			w.Header().Set("Content-Type", "image/jpeg")
			_, _ = w.Write([]byte("jpeg bytes"))
		case "/moved.jpg":
			http.Redirect(w, r, "https://elsewhere.example/moved.jpg", http.StatusFound)
		default:
			http.Error(w, "URL signature expired", http.StatusForbidden)
		}
	}))
	t.Cleanup(cdn.Close)
	h := newHarness(t, harnessOptions{mediaRootCAs: cdnRoots(cdn)})
	u := fbUser{psid: "7000000000000041"}
	links := []string{cdn.URL + "/a.jpg", cdn.URL + "/moved.jpg", cdn.URL + "/expired.jpg", "http://cdn.example/b.jpg", "javascript:alert(1)"}
	for i, link := range links {
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
	if len(ids) != len(links) {
		t.Fatalf("attachments in the transcript: %v, want %d", ids, len(links))
	}
	resp, body := h.getMedia(u.conv(), ids[cdn.URL+"/a.jpg"])
	if resp.StatusCode != http.StatusOK || body != "jpeg bytes" || resp.Header.Get("Content-Type") != "image/jpeg" ||
		resp.Header.Get("Content-Security-Policy") != "sandbox" || resp.Header.Get("Content-Disposition") != "inline" {
		t.Errorf("an https attachment: %d %q %v, want the image streamed, inline and sandboxed", resp.StatusCode, body, resp.Header)
	}
	resp, _ = h.getMedia(u.conv(), ids[cdn.URL+"/moved.jpg"])
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != cdn.URL+"/moved.jpg" {
		t.Errorf("an attachment the CDN redirects: %d to %q, want 302 to its URL", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := h.getMedia(u.conv(), ids[cdn.URL+"/expired.jpg"]); resp.StatusCode != http.StatusNotFound {
		t.Errorf("an expired attachment: %d, want 404", resp.StatusCode)
	}
	fetchedBefore := fetched.Load()
	for _, link := range []string{"http://cdn.example/b.jpg", "javascript:alert(1)"} {
		if resp, _ := h.getMedia(u.conv(), ids[link]); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s attachment: %d (Location %q), want 404", link, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if fetched.Load() != fetchedBefore || fetchedBefore != 3 {
		t.Errorf("the CDN was asked %d times, want 3 (the https URLs only)", fetched.Load())
	}
}

// cdnRoots trusts a test server's certificate.
func cdnRoots(srv *httptest.Server) *x509.CertPool {
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	return roots
}
