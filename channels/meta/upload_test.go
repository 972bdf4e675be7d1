package meta

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"switchboard/channels"
)

func TestClassifyTemplate(t *testing.T) {
	for code, want := range map[int]channels.TemplateProblem{
		132000: channels.TemplateParamCount, 132001: channels.TemplateMissing, 132012: channels.TemplateParamFormat,
		132015: channels.TemplatePaused, 132016: channels.TemplateDisabled, 132005: channels.TemplateRefused,
	} {
		se := Classify(channels.WhatsApp, 400, code, 0)
		var te *channels.TemplateError
		if se.Reason != ReasonTemplate || se.Retryable || !errors.As(se, &te) || te.Problem != want || te.Code != code {
			t.Errorf("Classify(%d) = %+v (template error %+v), want %s", code, se, te, want)
		}
	}
	if se := Classify(channels.WhatsApp, 400, 131047, 0); se.Err != nil {
		t.Errorf("a window error carries %v", se.Err)
	}
}

func TestUploadAnswers(t *testing.T) {
	var answer func(w http.ResponseWriter)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		answer(w)
	}))
	defer srv.Close()
	c := NewClient(channels.WhatsApp, SenderConfig{GraphURL: srv.URL}, 0)
	upload := func() error {
		var out struct {
			ID string `json:"id"`
		}
		return c.Upload(context.Background(), "1/media", []Field{{"messaging_product", "whatsapp"}}, "file",
			channels.Upload{Type: channels.MediaImage, MIMEType: "image/png", Size: 3, Body: strings.NewReader("png")}, &out)
	}
	answer = func(w http.ResponseWriter) {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"error":{"message":"(#131053) Media upload error","type":"OAuthException","code":131053,"error_data":{"details":"Unsupported file type"}}}`)
	}
	var se *channels.SendError
	if err := upload(); !errors.As(err, &se) || se.Reason != ReasonMedia || se.Retryable || !strings.Contains(se.Message, "Unsupported file type") {
		t.Errorf("refused upload: got %v", err)
	}
	answer = func(w http.ResponseWriter) { io.WriteString(w, `{"id":"7"}`) }
	if err := upload(); err != nil {
		t.Errorf("accepted upload: got %v", err)
	}
	answer = func(w http.ResponseWriter) { w.WriteHeader(http.StatusServiceUnavailable) }
	if err := upload(); !errors.As(err, &se) || !se.Retryable {
		t.Errorf("unavailable: got %v", err)
	}
}

func TestMultipartFrame(t *testing.T) {
	head, tail, ctype, err := multipartFrame([]Field{{"type", "image/png"}}, "file",
		channels.Upload{Type: channels.MediaImage, MIMEType: "image/PNG", Filename: "C:\\photos\\a \"b\".png"})
	if err != nil {
		t.Fatal(err)
	}
	body := string(head) + "PNG" + string(tail)
	for _, want := range []string{
		"Content-Disposition: form-data; name=\"type\"\r\n\r\nimage/png\r\n",
		`Content-Disposition: form-data; name="file"; filename="a \"b\".png"`,
		"Content-Type: image/png\r\n\r\nPNG\r\n--",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("%q missing from the body:\n%s", want, body)
		}
	}
	if !strings.HasPrefix(ctype, "multipart/form-data; boundary=") || !strings.HasSuffix(body, "--\r\n") {
		t.Errorf("Content-Type %q, body ends %q", ctype, body[len(body)-10:])
	}
	for in, want := range map[string]string{"": "image", "a/b/c.png": "c.png", "\r\n": "image", "x\x00y.png": "xy.png", "ok.png": "ok.png"} {
		if got := fileName(channels.Upload{Type: channels.MediaImage, Filename: in}); got != want {
			t.Errorf("fileName(%q) = %q, want %q", in, got, want)
		}
	}
}
