package testkit_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"switchboard/channels"
	"switchboard/internal/testkit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	waPhone = "106540352242922"
	fbPage  = "110000000000001"
	igID    = "17841400000000001"
)

// call POSTs (or GETs, when body is nil and ctype empty) to the fake and
// decodes the JSON answer.
func call(t *testing.T, method, url, token, ctype string, body []byte) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: answer %q is not a JSON object: %v", method, url, raw, err)
	}
	return resp.StatusCode, out
}

func post(t *testing.T, g *testkit.Graph, path, body string) (int, map[string]any) {
	t.Helper()
	return call(t, http.MethodPost, g.URL+"/v24.0"+path, "tok", "application/json", []byte(body))
}

// graphError returns the error object of an answer.
func graphError(t *testing.T, answer map[string]any) map[string]any {
	t.Helper()
	e, ok := answer["error"].(map[string]any)
	if !ok {
		t.Fatalf("answer %v has no error object", answer)
	}
	return e
}

func TestWhatsAppSend(t *testing.T) {
	g := testkit.NewGraph(t)
	status, answer := post(t, g, "/"+waPhone+"/messages",
		`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+5511987654321","type":"interactive","biz_opaque_callback_data":"gw:out:1",
		  "interactive":{"type":"button","body":{"text":"Wait?"},"action":{"buttons":[{"type":"reply","reply":{"id":"yes","title":"Wait"}},{"type":"reply","reply":{"id":"no","title":"No"}}]}}}`)
	if status != http.StatusOK || answer["messaging_product"] != "whatsapp" {
		t.Fatalf("got %d %v", status, answer)
	}
	contacts := answer["contacts"].([]any)[0].(map[string]any)
	if contacts["input"] != "+5511987654321" || contacts["wa_id"] != "5511987654321" {
		t.Errorf("contacts %v", contacts)
	}
	id := answer["messages"].([]any)[0].(map[string]any)["id"].(string)
	if !strings.HasPrefix(id, "wamid.") {
		t.Errorf("message id %q, want wamid.…", id)
	}
	s, ok := g.Last("5511987654321")
	if !ok {
		t.Fatal("send not recorded")
	}
	want := []channels.Choice{{ID: "yes", Title: "Wait"}, {ID: "no", Title: "No"}}
	if s.Platform != channels.WhatsApp || s.Account != waPhone || s.Kind != "interactive" || s.Interactive != "button" ||
		s.Text != "Wait?" || !slices.Equal(s.Choices, want) || s.Ref != "gw:out:1" || s.MessageID != id ||
		s.Authorization != "Bearer tok" || s.Path != "/v24.0/"+waPhone+"/messages" || !s.Accepted() {
		t.Errorf("recorded %+v", s)
	}
	if !json.Valid(s.Body) || !bytes.Contains(s.Body, []byte("gw:out:1")) {
		t.Errorf("raw body %s", s.Body)
	}

	// Templates and media by link are decoded too.
	post(t, g, "/"+waPhone+"/messages", `{"messaging_product":"whatsapp","to":"+5511987654321","type":"template",
	  "template":{"name":"order_update","language":{"code":"pt_BR"},"components":[{"type":"body","parameters":[{"type":"text","parameter_name":"order","text":"4471"}]}]}}`)
	post(t, g, "/"+waPhone+"/messages", `{"messaging_product":"whatsapp","to":"+5511987654321","type":"document",
	  "document":{"link":"https://example.com/r.pdf","caption":"Receipt","filename":"r.pdf"}}`)
	sends := g.To("5511987654321")
	if len(sends) != 3 {
		t.Fatalf("%d sends, want 3", len(sends))
	}
	if tp := sends[1].Template; tp == nil || tp.Name != "order_update" || tp.Language != "pt_BR" ||
		!slices.Equal(tp.Parameters, []channels.TemplateParam{{Name: "order", Text: "4471"}}) {
		t.Errorf("template %+v", tp)
	}
	if m := sends[2].Media; m == nil || *m != (testkit.SentMedia{Type: "document", Link: "https://example.com/r.pdf", Caption: "Receipt", Filename: "r.pdf"}) {
		t.Errorf("media %+v", m)
	}
	if got := sends[2].Display(); got != "[document] https://example.com/r.pdf Receipt" {
		t.Errorf("Display = %q", got)
	}

	// Mark-as-read is answered {"success":true} and is not a message send.
	status, answer = post(t, g, "/"+waPhone+"/messages", `{"messaging_product":"whatsapp","status":"read","message_id":"wamid.X"}`)
	if status != http.StatusOK || answer["success"] != true {
		t.Errorf("mark read: %d %v", status, answer)
	}
	if g.Total() != 3 || len(g.Requests()) != 4 || g.Calls() != 4 {
		t.Errorf("Total %d, Requests %d, Calls %d; want 3, 4, 4", g.Total(), len(g.Requests()), g.Calls())
	}
	if r := g.Requests()[3]; r.Kind != testkit.KindRead || r.ReplyTo != "wamid.X" || r.IsMessage() || r.Typing {
		t.Errorf("mark read recorded as %+v", r)
	}
	// With a typing indicator.
	post(t, g, "/"+waPhone+"/messages", `{"messaging_product":"whatsapp","status":"read","message_id":"wamid.Y","typing_indicator":{"type":"text"}}`)
	if r := g.Requests()[4]; r.Kind != testkit.KindRead || r.ReplyTo != "wamid.Y" || !r.Typing || !r.Accepted() {
		t.Errorf("mark read with typing recorded as %+v", r)
	}
}

func TestMessagingSend(t *testing.T) {
	g := testkit.NewGraph(t, testkit.Accounts(
		testkit.Account{Platform: channels.Messenger, ID: fbPage, Token: "fb-token"},
		testkit.Account{Platform: channels.Instagram, ID: igID, Token: "ig-token"}))
	body := `{"recipient":{"id":"7000000000000001"},"messaging_type":"MESSAGE_TAG","tag":"HUMAN_AGENT",
	  "message":{"text":"Pick one","metadata":"gw:out:2","quick_replies":[{"content_type":"text","title":"Track","payload":"TRACK"}]}}`
	status, answer := call(t, http.MethodPost, g.URL+"/v24.0/me/messages", "fb-token", "application/json", []byte(body))
	if status != http.StatusOK || answer["recipient_id"] != "7000000000000001" || !strings.HasPrefix(answer["message_id"].(string), "m_") {
		t.Fatalf("Messenger: %d %v", status, answer)
	}
	s, _ := g.Last("7000000000000001")
	if s.Platform != channels.Messenger || s.Account != fbPage || s.Kind != "text" || s.Text != "Pick one" || s.Ref != "gw:out:2" ||
		s.MessagingType != "MESSAGE_TAG" || s.Tag != "HUMAN_AGENT" || !slices.Equal(s.Choices, []channels.Choice{{ID: "TRACK", Title: "Track"}}) {
		t.Errorf("recorded %+v", s)
	}

	// An Instagram token on /me/messages, and the account id in the path:
	// both answered with Instagram's mid format.
	for _, path := range []string{"/me/messages", "/" + igID + "/messages"} {
		status, answer = call(t, http.MethodPost, g.URL+path, "ig-token", "application/json",
			[]byte(`{"recipient":{"id":"900000000000001"},"message":{"attachment":{"type":"image","payload":{"url":"https://example.com/a.jpg","is_reusable":true}}}}`))
		mid, _ := answer["message_id"].(string)
		decoded, _ := base64.RawURLEncoding.DecodeString(mid)
		if status != http.StatusOK || !strings.HasPrefix(string(decoded), "ig_message_item:") {
			t.Errorf("Instagram %s: %d %v", path, status, answer)
		}
	}
	if s, _ := g.Last("900000000000001"); s.Platform != channels.Instagram || s.Media == nil || s.Media.Link != "https://example.com/a.jpg" || !s.Media.Reusable {
		t.Errorf("Instagram attachment recorded as %+v", s)
	}

	// A sender action is answered and is not a message send.
	status, answer = call(t, http.MethodPost, g.URL+"/me/messages", "fb-token", "application/json",
		[]byte(`{"recipient":{"id":"7000000000000001"},"sender_action":"MARK_SEEN"}`))
	if status != http.StatusOK || answer["recipient_id"] != "7000000000000001" || len(g.To("7000000000000001")) != 1 {
		t.Errorf("sender action: %d %v, sends %d", status, answer, len(g.To("7000000000000001")))
	}
	for action, typing := range map[string]bool{"MARK_SEEN": false, "typing_on": true, "TYPING_ON": true, "TYPING_OFF": false} {
		call(t, http.MethodPost, g.URL+"/me/messages", "fb-token", "application/json",
			[]byte(`{"recipient":{"id":"7000000000000001"},"sender_action":"`+action+`"}`))
		reqs := g.Requests()
		if r := reqs[len(reqs)-1]; r.SenderAction != action || r.Typing != typing || r.IsMessage() {
			t.Errorf("%s recorded as %+v", action, r)
		}
	}

	// A wrong token on a known account or on /me: 401, code 190; an
	// unknown account: 400, code 100, subcode 33. None is a send.
	for _, c := range []struct {
		path, token   string
		status        int
		code, subcode float64
	}{
		{"/" + fbPage + "/messages", "stale", http.StatusUnauthorized, 190, 0},
		{"/me/messages", "stale", http.StatusUnauthorized, 190, 0},
		{"/999/messages", "fb-token", http.StatusBadRequest, 100, 33},
	} {
		status, answer = call(t, http.MethodPost, g.URL+c.path, c.token, "application/json", []byte(body))
		if e := graphError(t, answer); status != c.status || e["code"] != c.code || (c.subcode != 0 && e["error_subcode"] != c.subcode) {
			t.Errorf("%s with %q: %d %v", c.path, c.token, status, answer)
		}
	}
	if n := len(g.To("7000000000000001")); n != 1 {
		t.Errorf("%d sends to the user, want 1", n)
	}
}

func TestMalformedAndUnknown(t *testing.T) {
	g := testkit.NewGraph(t)
	for _, c := range []struct {
		method, path, body string
		status             int
		code               float64
	}{
		{http.MethodPost, "/" + waPhone + "/messages", `not json`, 400, 100},
		{http.MethodPost, "/" + waPhone + "/messages", `{"messaging_product":"whatsapp","to":"+1","type":"text"}`, 400, 100},
		{http.MethodPost, "/me/messages", `{"recipient":{"id":"1"}}`, 400, 100},
		{http.MethodPost, "/" + waPhone + "/unknown", `{}`, 400, 100},
		{http.MethodGet, "/no-such-media", "", 400, 100},
	} {
		status, answer := call(t, c.method, g.URL+"/v24.0"+c.path, "tok", "application/json", []byte(c.body))
		if e := graphError(t, answer); status != c.status || e["code"] != c.code || e["fbtrace_id"] == "" {
			t.Errorf("%s %s %s: %d %v, want %d with code %v", c.method, c.path, c.body, status, answer, c.status, c.code)
		}
	}
	if g.Total() != 0 {
		t.Errorf("Total %d, want 0", g.Total())
	}
}

func TestFailNext(t *testing.T) {
	for _, e := range []testkit.GraphError{
		testkit.ErrServer, testkit.ErrRateLimit, testkit.ErrWindowClosed, testkit.ErrMessengerWindow,
		testkit.ErrTemplateParams, testkit.ErrTemplateMissing, testkit.ErrTemplateFormat,
		testkit.ErrTemplatePaused, testkit.ErrTemplateDisabled,
	} {
		t.Run(fmt.Sprint(e.Code, "/", e.Subcode), func(t *testing.T) {
			g := testkit.NewGraph(t)
			g.FailNext(2, e)
			body := `{"messaging_product":"whatsapp","to":"+1555","type":"text","text":{"body":"hi"}}`
			for i := range 2 {
				status, answer := post(t, g, "/"+waPhone+"/messages", body)
				ge := graphError(t, answer)
				if status != e.Status || ge["code"] != float64(e.Code) || ge["type"] != "OAuthException" ||
					ge["message"] != fmt.Sprintf("(#%d) %s", e.Code, e.Title) || ge["fbtrace_id"] == "" {
					t.Errorf("call %d: %d %v", i+1, status, answer)
				}
				if sub, ok := ge["error_subcode"]; (e.Subcode != 0) != ok || (ok && sub != float64(e.Subcode)) {
					t.Errorf("call %d: error_subcode %v, want %d", i+1, sub, e.Subcode)
				}
			}
			if status, _ := post(t, g, "/"+waPhone+"/messages", body); status != http.StatusOK {
				t.Errorf("third call: %d, want 200", status)
			}
			reqs := g.Requests()
			if len(reqs) != 3 || reqs[0].Error == nil || reqs[0].Error.Code != e.Code || reqs[0].Status != e.Status || reqs[0].Accepted() ||
				g.Total() != 1 || len(g.To("1555")) != 1 || g.Calls() != 3 {
				t.Errorf("recorded %d calls (%+v), Total %d", len(reqs), reqs, g.Total())
			}
		})
	}
}

func TestRespond(t *testing.T) {
	g := testkit.NewGraph(t)
	g.Respond(func(n int, s testkit.Send) (int, string) {
		if n == 1 {
			return http.StatusOK, `{"recipient_id":"1","message_id":"m_fixture"}`
		}
		if s.Text == "fail me" {
			return http.StatusBadGateway, `<html>bad gateway</html>`
		}
		return 0, ""
	})
	send := func(text string) (int, map[string]any) {
		return post(t, g, "/me/messages", fmt.Sprintf(`{"recipient":{"id":"1"},"message":{"text":%q}}`, text))
	}
	if status, answer := send("first"); status != 200 || answer["message_id"] != "m_fixture" {
		t.Errorf("first: %d %v", status, answer)
	}
	req, _ := http.NewRequest(http.MethodPost, g.URL+"/me/messages", strings.NewReader(`{"recipient":{"id":"1"},"message":{"text":"fail me"}}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("fail me: %d", resp.StatusCode)
	}
	if status, answer := send("third"); status != 200 || !strings.HasPrefix(answer["message_id"].(string), "m_") {
		t.Errorf("third: %d %v", status, answer)
	}
	if got := len(g.To("1")); got != 2 {
		t.Errorf("%d accepted sends, want 2", got)
	}
}

// multipartBody builds a multipart form with fields and one file part.
func multipartBody(t *testing.T, fields map[string]string, fileField, fileName, fileType string, data []byte) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if fileField != "" {
		h := make(map[string][]string)
		h["Content-Disposition"] = []string{fmt.Sprintf(`form-data; name=%q; filename=%q`, fileField, fileName)}
		h["Content-Type"] = []string{fileType}
		part, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		part.Write(data)
	}
	w.Close()
	return b.Bytes(), w.FormDataContentType()
}

func TestUploads(t *testing.T) {
	g := testkit.NewGraph(t)
	png := []byte("\x89PNG fake image")

	// WhatsApp: /<phone_number_id>/media, then a send by that id.
	body, ctype := multipartBody(t, map[string]string{"messaging_product": "whatsapp", "type": "image/png"}, "file", "a.png", "image/png", png)
	status, answer := call(t, http.MethodPost, g.URL+"/v24.0/"+waPhone+"/media", "tok", ctype, body)
	id, _ := answer["id"].(string)
	if status != http.StatusOK || id == "" {
		t.Fatalf("upload: %d %v", status, answer)
	}
	if status, answer := post(t, g, "/"+waPhone+"/messages",
		fmt.Sprintf(`{"messaging_product":"whatsapp","to":"+1555","type":"image","image":{"id":%q,"caption":"hi"}}`, id)); status != http.StatusOK {
		t.Errorf("send by the uploaded id: %d %v", status, answer)
	}
	if s, _ := g.Last("1555"); s.Media == nil || s.Media.ID != id || s.Media.Caption != "hi" {
		t.Errorf("send recorded as %+v", s)
	}
	// A media id the fake never issued is refused.
	if status, answer := post(t, g, "/"+waPhone+"/messages",
		`{"messaging_product":"whatsapp","to":"+1555","type":"image","image":{"id":"42"}}`); status != 400 || graphError(t, answer)["code"] != 100.0 {
		t.Errorf("send by an unknown id: %d %v", status, answer)
	}
	// The upload is recorded and can be looked up and downloaded.
	ups := g.Uploads()
	if len(ups) != 1 || ups[0].Platform != channels.WhatsApp || ups[0].MessagingProduct != "whatsapp" || ups[0].Type != "image/png" ||
		ups[0].FileName != "a.png" || !bytes.Equal(ups[0].Data, png) || ups[0].ID != id || ups[0].Account != waPhone {
		t.Errorf("uploads %+v", ups)
	}
	status, answer = call(t, http.MethodGet, g.URL+"/v24.0/"+id, "tok", "", nil)
	if status != 200 || answer["mime_type"] != "image/png" || answer["id"] != id || answer["file_size"] != float64(len(png)) {
		t.Fatalf("media look-up: %d %v", status, answer)
	}
	resp, err := http.Get(answer["url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, png) || resp.Header.Get("Content-Type") != "image/png" {
		t.Errorf("download: %q %s", got, resp.Header.Get("Content-Type"))
	}

	// Missing fields are refused with code 100.
	for _, c := range []struct {
		name   string
		fields map[string]string
		file   string
	}{
		{"no messaging_product", map[string]string{"type": "image/png"}, "file"},
		{"no file", map[string]string{"messaging_product": "whatsapp"}, ""},
	} {
		body, ctype := multipartBody(t, c.fields, c.file, "a.png", "image/png", png)
		if status, answer := call(t, http.MethodPost, g.URL+"/"+waPhone+"/media", "tok", ctype, body); status != 400 || graphError(t, answer)["code"] != 100.0 {
			t.Errorf("%s: %d %v", c.name, status, answer)
		}
	}
	if status, answer := call(t, http.MethodPost, g.URL+"/"+waPhone+"/media", "tok", "application/json", []byte(`{}`)); status != 400 || graphError(t, answer)["code"] != 100.0 {
		t.Errorf("not multipart: %d %v", status, answer)
	}

	// Messenger and Instagram: /me/message_attachments, then a send by
	// attachment_id.
	body, ctype = multipartBody(t, map[string]string{"message": `{"attachment":{"type":"image","payload":{"is_reusable":true}}}`}, "filedata", "a.png", "image/png", png)
	status, answer = call(t, http.MethodPost, g.URL+"/v24.0/me/message_attachments", "tok", ctype, body)
	aid, _ := answer["attachment_id"].(string)
	if status != http.StatusOK || aid == "" {
		t.Fatalf("attachment upload: %d %v", status, answer)
	}
	if up := g.Uploads()[1]; up.Platform != channels.Messenger || up.AttachmentType != "image" || !up.Reusable || up.ID != aid {
		t.Errorf("attachment upload recorded as %+v", up)
	}
	if status, answer := post(t, g, "/me/messages",
		fmt.Sprintf(`{"recipient":{"id":"7"},"message":{"attachment":{"type":"image","payload":{"attachment_id":%q}}}}`, aid)); status != http.StatusOK {
		t.Errorf("send by attachment_id: %d %v", status, answer)
	}
	body, ctype = multipartBody(t, map[string]string{"message": `{}`}, "filedata", "a.png", "image/png", png)
	if status, answer := call(t, http.MethodPost, g.URL+"/me/message_attachments", "tok", ctype, body); status != 400 || graphError(t, answer)["code"] != 100.0 {
		t.Errorf("attachment without a type: %d %v", status, answer)
	}
}

func TestInboundMediaToken(t *testing.T) {
	g := testkit.NewGraph(t)
	g.AddMedia(testkit.Media{ID: "1234567890", MimeType: "image/jpeg", Data: []byte("jpeg"), Token: "wa-token"})
	if status, answer := call(t, http.MethodGet, g.URL+"/v24.0/1234567890", "other", "", nil); status != http.StatusUnauthorized || graphError(t, answer)["code"] != 190.0 {
		t.Errorf("wrong token: %d %v", status, answer)
	}
	status, answer := call(t, http.MethodGet, g.URL+"/v24.0/1234567890", "wa-token", "", nil)
	if status != http.StatusOK {
		t.Fatalf("look-up: %d %v", status, answer)
	}
	for _, c := range []struct {
		token  string
		status int
	}{{"", http.StatusUnauthorized}, {"wa-token", http.StatusOK}} {
		req, _ := http.NewRequest(http.MethodGet, answer["url"].(string), nil)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || (c.status == 200 && string(data) != "jpeg") {
			t.Errorf("download with %q: %d %q", c.token, resp.StatusCode, data)
		}
	}
}

func TestCountOnly(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	g := testkit.NewGraph(t, testkit.CountOnly(), testkit.Listener(l), testkit.ArrivalClock(func() time.Time { return at }))
	if g.URL != "http://"+l.Addr().String() {
		t.Errorf("URL %s, want the listener's %s", g.URL, l.Addr())
	}
	var wg sync.WaitGroup
	for u := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 25 {
				if u%2 == 0 {
					post(t, g, "/"+waPhone+"/messages", fmt.Sprintf(`{"messaging_product":"whatsapp","to":"+55%d","type":"text","text":{"body":"hi"}}`, u))
				} else {
					post(t, g, "/me/messages", fmt.Sprintf(`{"recipient":{"id":"55%d"},"message":{"text":"hi"}}`, u))
				}
			}
		}()
	}
	wg.Wait()
	post(t, g, "/"+waPhone+"/messages", `{"messaging_product":"whatsapp","status":"read","message_id":"wamid.X"}`)
	g.FailNext(1, testkit.ErrRateLimit)
	if status, answer := post(t, g, "/me/messages", `{"recipient":{"id":"550"},"message":{"text":"hi"}}`); status != 400 || graphError(t, answer)["code"] != 130429.0 {
		t.Errorf("programmed failure in CountOnly: %d %v", status, answer)
	}
	if g.Total() != 100 || g.Calls() != 102 || len(g.Requests()) != 0 || len(g.Sends()) != 0 {
		t.Errorf("Total %d, Calls %d, Requests %d, Sends %d; want 100, 102, 0, 0", g.Total(), g.Calls(), len(g.Requests()), len(g.Sends()))
	}
	want := map[string]int{"550": 25, "551": 25, "552": 25, "553": 25}
	got := g.Recipients()
	if len(got) != len(want) {
		t.Errorf("Recipients %v, want %v", got, want)
	}
	for u, n := range want {
		if got[u] != n {
			t.Errorf("Recipients %v, want %v", got, want)
		}
	}
	if a := g.Arrivals("551"); len(a) != 25 || !a[0].Equal(at) {
		t.Errorf("Arrivals %v", a)
	}
}

// TestSentAgain counts a send that repeats an earlier send's ref to the
// same recipient, in both modes: WhatsApp's biz_opaque_callback_data and
// the Messenger/Instagram message's metadata.
func TestSentAgain(t *testing.T) {
	for _, mode := range []struct {
		name string
		opts []testkit.Option
	}{{"decoded", nil}, {"count only", []testkit.Option{testkit.CountOnly()}}} {
		t.Run(mode.name, func(t *testing.T) {
			g := testkit.NewGraph(t, mode.opts...)
			wa := func(to, ref string) {
				post(t, g, "/"+waPhone+"/messages", fmt.Sprintf(`{"messaging_product":"whatsapp","to":"+%s","type":"text","text":{"body":"hi"},"biz_opaque_callback_data":%q}`, to, ref))
			}
			ms := func(to, ref string) {
				post(t, g, "/me/messages", fmt.Sprintf(`{"recipient":{"id":%q},"message":{"text":"hi","metadata":%q}}`, to, ref))
			}
			wa("551", "e1")
			wa("551", "e2")
			wa("551", "e1") // again
			wa("552", "e1") // another recipient's
			wa("551", "")   // no ref: never counted as again
			wa("551", "")
			ms("553", "e7")
			ms("553", "e7") // again
			ms("553", "e7") // and again
			g.FailNext(1, testkit.ErrRateLimit)
			ms("554", "e9") // refused: not a send that arrived
			ms("554", "e9")
			want := map[string]int{"551": 1, "552": 0, "553": 2, "554": 0}
			for to, n := range want {
				if got := g.SentAgain(to); got != n {
					t.Errorf("SentAgain(%s) = %d, want %d", to, got, n)
				}
			}
			if g.Total() != 10 {
				t.Errorf("Total %d, want 10", g.Total())
			}
		})
	}
}

func TestSince(t *testing.T) {
	g := testkit.NewGraph(t)
	for _, text := range []string{"one", "two", "three"} {
		post(t, g, "/me/messages", fmt.Sprintf(`{"recipient":{"id":"1"},"message":{"text":%q}}`, text))
	}
	first, n := g.Since(0)
	post(t, g, "/me/messages", `{"recipient":{"id":"1"},"message":{"text":"four"}}`)
	rest, m := g.Since(n)
	if len(first) != 3 || n != 3 || len(rest) != 1 || rest[0].Text != "four" || m != 4 {
		t.Errorf("Since: %d (%d), %d (%d)", len(first), n, len(rest), m)
	}
	if more, k := g.Since(10); len(more) != 0 || k != 4 {
		t.Errorf("Since past the end: %d, %d", len(more), k)
	}
}
