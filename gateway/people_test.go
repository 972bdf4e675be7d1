package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"switchboard/config"
	"switchboard/gateway/engine"
	"switchboard/internal/testkit"
	"switchboard/queue"
	"switchboard/routing"
)

// The people of these tests: ana, bruno and sue sign in with passwords
// (bcrypt hashes of cost 4, made for these tests); sue supervises wa-main;
// dora serves only fb-page. wa-main tells the user about transfers.
const (
	anaPassword   = "ana-password"
	brunoPassword = "bruno-password"
	sueToken      = "sue-token-test-0123456789"
	doraToken     = "dora-token-test-0123456789"
)

func peopleConfig(yaml string, _ map[string]string) string {
	r := strings.NewReplacer(
		"    max_conversations: 2\n",
		"    max_conversations: 2\n    password_hash: $2a$04$kzdP6fsNurBkV5cP2qiQCO1MlvlKuePLMviZmPXdMeZNgu5w/FBXG\n",
		"    max_conversations: 1\n",
		`    max_conversations: 1
    password_hash: $2a$04$KQhILXfXvXUoyfK.FdI/suqOmfNFPbPZhDMI14/E8TYL.9MPe1c7y
  - id: sue
    name: Sue
    token: `+sueToken+`
    channels: [wa-main]
    role: supervisor
    password_hash: $2a$04$4.FET96iMUjB3GfbeZnxquhCgm/dtexmVUOfTDq0wFujsR5NOv8C2
  - id: dora
    name: Dora
    token: `+doraToken+`
    channels: [fb-page]
`)
	yaml = r.Replace(yaml)
	// wa-main's messages come first.
	return strings.Replace(yaml, "        handed_back: \"MSG handed_back\"\n",
		"        handed_back: \"MSG handed_back\"\n        transferred_to: \"MSG transferred_to {agent}\"\n", 1)
}

// client calls the API as one browser or integration would, with a
// cookie jar, checking every exchange against the OpenAPI document.
type client struct {
	t    *testing.T
	h    *harness
	http *http.Client
	csrf string
}

func newClient(t *testing.T, h *harness, spec *testkit.OpenAPIChecker) *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, h: h, http: &http.Client{Transport: spec.Transport(t, nil), Jar: jar}}
}

func openAPIOf(t *testing.T, h *harness) *testkit.OpenAPIChecker {
	resp, err := http.Get(h.base + "/api/v1/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	spec, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return testkit.OpenAPI(t, spec)
}

// response is an answer: status, headers, body.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) code() string {
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	_ = json.Unmarshal(r.body, &e)
	return e.Error.Code
}

// do sends a request; headers holds "Name", "value" pairs, and a "Bearer"
// name sets the Authorization header.
func (c *client) do(method, path string, body any, headers ...string) response {
	c.t.Helper()
	var r io.Reader
	contentType := ""
	switch b := body.(type) {
	case nil:
	case *multipartBody:
		r, contentType = bytes.NewReader(b.data), b.contentType
	default:
		data, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		r, contentType = bytes.NewReader(data), "application/json"
	}
	req, err := http.NewRequest(method, c.h.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i] == "Bearer" {
			req.Header.Set("Authorization", "Bearer "+headers[i+1])
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, data}
}

// want checks an answer's status and, for errors, its code.
func (c *client) want(r response, status int, code string) response {
	c.t.Helper()
	if r.status != status || (code != "" && r.code() != code) {
		c.t.Fatalf("answer %d %s, want %d %s", r.status, r.body, status, code)
	}
	return r
}

func (c *client) signIn(agent, password string) engineMe {
	c.t.Helper()
	r := c.want(c.do(http.MethodPost, "/api/v1/session", map[string]string{"agent": agent, "password": password}), http.StatusOK, "")
	var me engineMe
	if err := json.Unmarshal(r.body, &me); err != nil {
		c.t.Fatal(err)
	}
	c.csrf = me.CSRFToken
	return me
}

// engineMe is GET /api/v1/agents/me.
type engineMe struct {
	ID, Name, Role string
	Channels       []string
	Presence       string
	CSRFToken      string `json:"csrf_token"`
}

func conversationOf(t *testing.T, r response) engine.ConversationView {
	t.Helper()
	var v engine.ConversationView
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return v
}

func heldBy(t *testing.T, h *harness, agent string) int {
	t.Helper()
	held, err := h.app.store.Held(context.Background(), []string{"wa-main", "fb-page", "ig-shop"})
	if err != nil {
		t.Fatal(err)
	}
	return held[agent]
}

func TestPeopleAssignAndTransfer(t *testing.T) {
	h := newHarness(t, harnessOptions{yaml: peopleConfig})
	c := newClient(t, h, openAPIOf(t, h))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	anaEvents := openSSEAs(t, h, ctx, "", anaToken)
	brunoEvents := openSSEAs(t, h, ctx, "", brunoTok)

	join(t, h, ana, "wamid.PT1", insideHours)
	join(t, h, beto, "wamid.PT2", insideHours.Add(time.Minute))
	to := func(agent string) map[string]string { return map[string]string{"agent": agent} }
	path := func(u waUser, action string) string { return "/api/v1/conversations/" + u.conv() + "/" + action }

	// Only a supervisor assigns.
	c.want(c.do(http.MethodPost, path(ana, "assign"), to("bruno"), "Bearer", anaToken), http.StatusForbidden, "forbidden")
	got := conversationOf(t, c.want(c.do(http.MethodPost, path(ana, "assign"), to("bruno"), "Bearer", sueToken), http.StatusOK, ""))
	if got.State != routing.StateAssigned || got.AssignedTo == nil || *got.AssignedTo != "bruno" {
		t.Fatalf("assign = %+v, want assigned to bruno", got)
	}
	h.waitSent("MSG assigned Bruno", 1)
	// bruno holds his max (1): neither an assignment nor a transfer reaches him.
	c.want(c.do(http.MethodPost, path(beto, "assign"), to("bruno"), "Bearer", sueToken), http.StatusConflict, "at_capacity")
	if h.position(beto.conv()) != 1 {
		t.Errorf("beto left the line on a refused assignment")
	}
	// Bad input.
	c.want(c.do(http.MethodPost, path(ana, "transfer"), to("dora"), "Bearer", brunoTok), http.StatusConflict, "not_serving")
	c.want(c.do(http.MethodPost, path(ana, "transfer"), to("nobody"), "Bearer", brunoTok), http.StatusNotFound, "not_found")
	c.want(c.do(http.MethodPost, path(ana, "transfer"), to("ana"), "Bearer", anaToken), http.StatusConflict, "not_yours")
	c.want(c.do(http.MethodPost, path(ana, "transfer"), to("bruno"), "Bearer", brunoTok), http.StatusConflict, "already_holds")
	c.want(c.do(http.MethodPost, "/api/v1/conversations/c_wa-main_nope/transfer", to("ana"), "Bearer", brunoTok), http.StatusNotFound, "not_found")
	c.want(c.do(http.MethodPost, path(ana, "transfer"), to("ana"), "Bearer", doraToken), http.StatusForbidden, "forbidden")
	c.want(c.do(http.MethodPost, path(ana, "transfer"), map[string]string{}, "Bearer", brunoTok), http.StatusBadRequest, "bad_request")

	// bruno hands ana's conversation to ana (the agent, who is offline).
	got = conversationOf(t, c.want(c.do(http.MethodPost, path(ana, "transfer"), to("ana"), "Bearer", brunoTok), http.StatusOK, ""))
	if got.AssignedTo == nil || *got.AssignedTo != "ana" {
		t.Fatalf("transfer = %+v, want assigned to ana", got)
	}
	for name, events := range map[string]<-chan sseEvent{"ana": anaEvents, "bruno": brunoEvents} {
		ev := nextEvent(t, events, string(routing.NoticeTransferred))
		var n queue.Notice
		if err := json.Unmarshal([]byte(ev.data), &n); err != nil {
			t.Fatal(err)
		}
		if n.Conversation != ana.conv() || n.Agent != "ana" || n.From != "bruno" {
			t.Errorf("%s's stream: %+v, want the transfer from bruno to ana", name, n)
		}
	}
	h.waitSent("MSG transferred_to Ana", 1)
	if r := h.resolutions(ana.conv()); !slices.Contains(r, "agent:transferred_to_agent") {
		t.Errorf("sessions = %v, want bruno's agent session ended transferred_to_agent", r)
	}
	if a, b := heldBy(t, h, "ana"), heldBy(t, h, "bruno"); a != 1 || b != 0 {
		t.Errorf("held: ana %d, bruno %d; want 1, 0", a, b)
	}
	// bruno has room again: he claims beto.
	c.want(c.do(http.MethodPost, "/api/v1/queue/claim", nil, "Bearer", brunoTok), http.StatusOK, "")

	// A supervisor releases and closes conversations others hold.
	got = conversationOf(t, c.want(c.do(http.MethodPost, path(beto, "release"), nil, "Bearer", sueToken), http.StatusOK, ""))
	if got.State != routing.StateWaiting {
		t.Errorf("release by the supervisor: state %s, want waiting", got.State)
	}
	got = conversationOf(t, c.want(c.do(http.MethodPost, path(ana, "close"), nil, "Bearer", sueToken), http.StatusOK, ""))
	if got.State != routing.StateEnded {
		t.Errorf("close by the supervisor: state %s, want ended", got.State)
	}
	c.want(c.do(http.MethodPost, path(beto, "close"), nil, "Bearer", anaToken), http.StatusConflict, "not_assigned")
	if a, b := heldBy(t, h, "ana"), heldBy(t, h, "bruno"); a != 0 || b != 0 {
		t.Errorf("held after release and close: ana %d, bruno %d; want 0, 0", a, b)
	}
}

func TestPeopleSignIn(t *testing.T) {
	h := newHarness(t, harnessOptions{yaml: peopleConfig})
	spec := openAPIOf(t, h)
	c := newClient(t, h, spec)

	wrong := c.want(c.do(http.MethodPost, "/api/v1/session", map[string]string{"agent": "ana", "password": "nope"}), http.StatusUnauthorized, "unauthorized")
	unknown := c.want(c.do(http.MethodPost, "/api/v1/session", map[string]string{"agent": "zed", "password": "nope"}), http.StatusUnauthorized, "unauthorized")
	if !bytes.Equal(wrong.body, unknown.body) {
		t.Errorf("a wrong password answers %s, an unknown agent %s: they must not differ", wrong.body, unknown.body)
	}
	c.want(c.do(http.MethodPost, "/api/v1/session", map[string]string{"agent": "ana"}), http.StatusBadRequest, "bad_request")
	c.want(c.do(http.MethodPost, "/api/v1/session", map[string]string{"agent": "ana", "password": anaPassword}, "Sec-Fetch-Site", "cross-site"), http.StatusForbidden, "forbidden")
	c.want(c.do(http.MethodPost, "/api/v1/session", map[string]string{"agent": "ana", "password": anaPassword}, "Origin", "https://evil.example"), http.StatusForbidden, "forbidden")

	r := c.want(c.do(http.MethodPost, "/api/v1/session", map[string]string{"agent": "ana", "password": anaPassword}), http.StatusOK, "")
	cookie := r.header.Get("Set-Cookie")
	for _, attr := range []string{"switchboard_session=", "Path=/", "HttpOnly", "SameSite=Strict"} {
		if !strings.Contains(cookie, attr) {
			t.Errorf("Set-Cookie %q lacks %s", cookie, attr)
		}
	}
	if strings.Contains(cookie, "Secure") {
		t.Errorf("Set-Cookie %q is Secure over plain HTTP", cookie)
	}
	var me engineMe
	_ = json.Unmarshal(r.body, &me)
	c.csrf = me.CSRFToken
	if me.ID != "ana" || me.Role != "agent" || me.CSRFToken == "" || me.Presence != "offline" || len(me.Channels) != 3 {
		t.Errorf("sign-in = %+v", me)
	}
	c.want(c.do(http.MethodGet, "/api/v1/agents/me", nil), http.StatusOK, "")

	// A state-changing request by cookie must come from this site with the token.
	online := map[string]string{"status": "online"}
	c.want(c.do(http.MethodPut, "/api/v1/agents/me/presence", online), http.StatusForbidden, "forbidden")
	c.want(c.do(http.MethodPut, "/api/v1/agents/me/presence", online, "X-CSRF-Token", "forged"), http.StatusForbidden, "forbidden")
	c.want(c.do(http.MethodPut, "/api/v1/agents/me/presence", online, "X-CSRF-Token", c.csrf, "Origin", "https://evil.example"), http.StatusForbidden, "forbidden")
	c.want(c.do(http.MethodPut, "/api/v1/agents/me/presence", online, "X-CSRF-Token", c.csrf, "Sec-Fetch-Site", "cross-site"), http.StatusForbidden, "forbidden")
	c.want(c.do(http.MethodPut, "/api/v1/agents/me/presence", online, "X-CSRF-Token", c.csrf, "Origin", h.base, "Sec-Fetch-Site", "same-origin"), http.StatusOK, "")
	me = engineMe{}
	_ = json.Unmarshal(c.want(c.do(http.MethodGet, "/api/v1/agents/me", nil), http.StatusOK, "").body, &me)
	if me.Presence != "online" {
		t.Errorf("presence after the PUT = %q", me.Presence)
	}
	// Bearer tokens keep working, without a CSRF token.
	other := newClient(t, h, spec)
	other.want(other.do(http.MethodPut, "/api/v1/agents/me/presence", map[string]string{"status": "away"}, "Bearer", anaToken), http.StatusOK, "")

	// The session slides: used at 11 h, it lasts 12 h more.
	h.setClock(insideHours.Add(11 * time.Hour))
	c.want(c.do(http.MethodGet, "/api/v1/agents/me", nil), http.StatusOK, "")
	h.setClock(insideHours.Add(22 * time.Hour))
	c.want(c.do(http.MethodGet, "/api/v1/queue", nil), http.StatusOK, "")
	h.setClock(insideHours.Add(34*time.Hour + time.Second))
	c.want(c.do(http.MethodGet, "/api/v1/queue", nil), http.StatusUnauthorized, "unauthorized")

	// Sign-out ends the session at once.
	c.signIn("ana", anaPassword)
	c.want(c.do(http.MethodDelete, "/api/v1/session", nil), http.StatusForbidden, "forbidden")
	jarCookies := c.http.Jar.Cookies(mustURL(t, h.base))
	c.want(c.do(http.MethodDelete, "/api/v1/session", nil, "X-CSRF-Token", c.csrf), http.StatusNoContent, "")
	replay := newClient(t, h, spec)
	replay.http.Jar.SetCookies(mustURL(t, h.base), jarCookies)
	replay.want(replay.do(http.MethodGet, "/api/v1/agents/me", nil), http.StatusUnauthorized, "unauthorized")
}

func TestPeopleSignInRateLimit(t *testing.T) {
	h := newHarness(t, harnessOptions{yaml: peopleConfig})
	c := newClient(t, h, openAPIOf(t, h))
	for i := 0; i < 5; i++ {
		c.want(c.do(http.MethodPost, "/api/v1/session", map[string]string{"agent": "bruno", "password": "guess" + strconv.Itoa(i)}), http.StatusUnauthorized, "unauthorized")
	}
	// The sixth attempt in the minute is refused, even with the right password.
	r := c.want(c.do(http.MethodPost, "/api/v1/session", map[string]string{"agent": "bruno", "password": brunoPassword}), http.StatusTooManyRequests, "rate_limited")
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 || s > 60 {
		t.Errorf("Retry-After = %q, want 1 to 60 seconds", r.header.Get("Retry-After"))
	}
	// Another agent from the same address still may, up to 20 a minute.
	c.signIn("ana", anaPassword)
	h.setClock(insideHours.Add(time.Minute))
	c.signIn("bruno", brunoPassword)
	// One address may try 20 times a minute, whichever the agents.
	for i := 2; i <= 20; i++ {
		c.want(c.do(http.MethodPost, "/api/v1/session", map[string]string{"agent": "zed" + strconv.Itoa(i), "password": "x"}), http.StatusUnauthorized, "unauthorized")
	}
	c.want(c.do(http.MethodPost, "/api/v1/session", map[string]string{"agent": "ana", "password": anaPassword}), http.StatusTooManyRequests, "rate_limited")
	if !strings.Contains(h.metrics(), `switchboard_auth_failures_total{kind="password"} 24`) {
		t.Errorf("metrics lack 24 password failures")
	}
}

func TestPeopleAuthFailuresLimited(t *testing.T) {
	h := newHarness(t, harnessOptions{yaml: peopleConfig})
	c := newClient(t, h, openAPIOf(t, h))
	c.want(c.do(http.MethodGet, "/api/v1/admin/stats", nil, "Bearer", "not-the-admin-token"), http.StatusUnauthorized, "unauthorized")
	for i := 1; i < engine.AuthFailuresPerAddress; i++ {
		c.want(c.do(http.MethodGet, "/api/v1/agents/me", nil, "Bearer", "guess-"+strconv.Itoa(i)), http.StatusUnauthorized, "unauthorized")
	}
	r := c.want(c.do(http.MethodGet, "/api/v1/agents/me", nil, "Bearer", "one-too-many"), http.StatusTooManyRequests, "rate_limited")
	if r.header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	// Locked out: even a good token waits for the window's end.
	c.want(c.do(http.MethodGet, "/api/v1/agents/me", nil, "Bearer", anaToken), http.StatusTooManyRequests, "rate_limited")
	h.setClock(insideHours.Add(time.Minute))
	c.want(c.do(http.MethodGet, "/api/v1/agents/me", nil, "Bearer", anaToken), http.StatusOK, "")
	m := h.metrics()
	for _, want := range []string{`switchboard_auth_failures_total{kind="admin"} 1`, `switchboard_auth_failures_total{kind="bearer"} 20`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// metrics is GET /metrics.
func (h *harness) metrics() string {
	h.t.Helper()
	resp, err := http.Get(h.base + "/metrics")
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// multipartBody is a multipart/form-data request body.
type multipartBody struct {
	data        []byte
	contentType string
}

// upload builds a body with a file part of content type and size bytes
// (and a caption part when not empty).
func upload(t *testing.T, contentType string, data []byte, caption string) *multipartBody {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if caption != "" {
		if err := w.WriteField("caption", caption); err != nil {
			t.Fatal(err)
		}
	}
	hdr := textproto.MIMEHeader{}
	hdr.Set("Content-Disposition", `form-data; name="file"; filename="photo.jpg"`)
	hdr.Set("Content-Type", contentType)
	part, err := w.CreatePart(hdr)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = part.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return &multipartBody{data: buf.Bytes(), contentType: w.FormDataContentType()}
}

func TestPeopleUpload(t *testing.T) {
	graph := testkit.NewGraph(t)
	h := newHarness(t, harnessOptions{yaml: peopleConfig, graphURL: graph.URL})
	c := newClient(t, h, openAPIOf(t, h))
	join(t, h, ana, "wamid.UP1", insideHours)
	c.want(c.do(http.MethodPost, "/api/v1/queue/claim", nil, "Bearer", anaToken), http.StatusOK, "")
	path := "/api/v1/conversations/" + ana.conv() + "/attachments"
	photo := bytes.Repeat([]byte{0xff, 0xd8, 0xff}, 1000)

	c.want(c.do(http.MethodPost, path, upload(t, "image/jpeg", photo, "x"), "Bearer", brunoTok), http.StatusConflict, "not_yours")
	c.want(c.do(http.MethodPost, path, upload(t, "image/jpeg", photo, "x"), "Bearer", doraToken), http.StatusForbidden, "forbidden")
	c.want(c.do(http.MethodPost, "/api/v1/conversations/c_wa-main_nope/attachments", upload(t, "image/jpeg", photo, "x"), "Bearer", anaToken), http.StatusNotFound, "not_found")
	r := c.want(c.do(http.MethodPost, path, upload(t, "image/gif", photo, ""), "Bearer", anaToken), http.StatusUnsupportedMediaType, "unsupported_media_type")
	if !strings.Contains(r.code()+string(r.body), "image/jpeg") {
		t.Errorf("415 %s does not say what WhatsApp takes", r.body)
	}
	r = c.want(c.do(http.MethodPost, path, upload(t, "image/png", make([]byte, 5_000_001), ""), "Bearer", anaToken), http.StatusRequestEntityTooLarge, "too_large")
	if !strings.Contains(string(r.body), "5 MB") {
		t.Errorf("413 %s does not name the limit", r.body)
	}
	if n := len(graph.Uploads()); n != 0 {
		t.Fatalf("%d uploads reached the platform before a good one", n)
	}

	// From the console: signed in, with the session's CSRF token.
	c.signIn("ana", anaPassword)
	c.want(c.do(http.MethodPost, path, upload(t, "image/jpeg", photo, "your receipt")), http.StatusForbidden, "forbidden")
	c.want(c.do(http.MethodPost, path, upload(t, "image/jpeg", photo, "your receipt"), "X-CSRF-Token", c.csrf), http.StatusAccepted, "")
	ups := graph.Uploads()
	if len(ups) != 1 || ups[0].Type != "image/jpeg" || !bytes.Equal(ups[0].Data, photo) {
		t.Fatalf("uploads = %d, want the photo as image/jpeg", len(ups))
	}
	h.eventually("the photo is sent by its id", func() bool {
		for _, s := range graph.To(ana.id) {
			if s.Media != nil && s.Media.Type == "image" && s.Media.ID == ups[0].ID && s.Media.Caption == "your receipt" {
				return true
			}
		}
		return false
	})
	if h.countEntries(ana.conv(), routing.AuthorAgent, "[image] your receipt") != 1 {
		t.Errorf("the transcript lacks the agent's image")
	}

	// Outside the window the upload is refused before any byte is sent on.
	h.setClock(insideHours.Add(25 * time.Hour))
	c.want(c.do(http.MethodPost, path, upload(t, "image/jpeg", photo, ""), "Bearer", anaToken), http.StatusUnprocessableEntity, "window_closed")
	if len(graph.Uploads()) != 1 {
		t.Error("an upload outside the window reached the platform")
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestPeopleSessionsAfterReload: a reload that changes an agent's password
// or removes the agent ends its sessions; others' go on.
func TestPeopleSessionsAfterReload(t *testing.T) {
	h := newHarness(t, harnessOptions{yaml: peopleConfig})
	spec := openAPIOf(t, h)
	anaC, brunoC, sueC := newClient(t, h, spec), newClient(t, h, spec), newClient(t, h, spec)
	anaC.signIn("ana", anaPassword)
	brunoC.signIn("bruno", brunoPassword)
	sueC.signIn("sue", "sue-password")

	yaml := peopleConfig(testConfig, nil)
	// bruno gets sue's password hash; sue is removed.
	yaml = strings.Replace(yaml, "$2a$04$KQhILXfXvXUoyfK.FdI/suqOmfNFPbPZhDMI14/E8TYL.9MPe1c7y", "$2a$04$4.FET96iMUjB3GfbeZnxquhCgm/dtexmVUOfTDq0wFujsR5NOv8C2", 1)
	start, end := strings.Index(yaml, "  - id: sue\n"), strings.Index(yaml, "  - id: dora\n")
	yaml = yaml[:start] + yaml[end:]
	env := map[string]string{"REDIS_URL": h.redis.URL, "GRAPH_URL": h.graph.URL}
	cfg, err := config.Parse("test.yaml", []byte(yaml), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.app.apply(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	anaC.want(anaC.do(http.MethodGet, "/api/v1/agents/me", nil), http.StatusOK, "")
	brunoC.want(brunoC.do(http.MethodGet, "/api/v1/agents/me", nil), http.StatusUnauthorized, "unauthorized")
	sueC.want(sueC.do(http.MethodGet, "/api/v1/agents/me", nil), http.StatusUnauthorized, "unauthorized")
	brunoC.signIn("bruno", "sue-password")
}

// TestPeopleConcurrentTransfers: two transfers of one conversation at the
// same instant: one wins, the other finds it no longer the holder's, and
// the conversation is held by one agent, counted once.
func TestPeopleConcurrentTransfers(t *testing.T) {
	h := newHarness(t, harnessOptions{yaml: peopleConfig})
	c := newClient(t, h, openAPIOf(t, h))
	join(t, h, ana, "wamid.CT1", insideHours)
	c.want(c.do(http.MethodPost, "/api/v1/queue/claim", nil, "Bearer", anaToken), http.StatusOK, "")
	path := "/api/v1/conversations/" + ana.conv() + "/transfer"
	targets := []string{"bruno", "sue"}
	answers := make(chan response, len(targets))
	for _, to := range targets {
		go func() { answers <- c.do(http.MethodPost, path, map[string]string{"agent": to}, "Bearer", anaToken) }()
	}
	var winner string
	for range targets {
		r := <-answers
		switch r.status {
		case http.StatusOK:
			if winner != "" {
				t.Fatalf("two transfers won: %s and %s", winner, r.body)
			}
			winner = *conversationOf(t, r).AssignedTo
		case http.StatusConflict:
			if r.code() != "not_yours" {
				t.Errorf("the losing transfer: %s, want not_yours", r.body)
			}
		default:
			t.Fatalf("transfer: %d %s", r.status, r.body)
		}
	}
	if winner == "" {
		t.Fatal("no transfer won")
	}
	if got := h.record(ana.conv()).AssignedTo; got != winner {
		t.Errorf("held by %q, the winning answer said %q", got, winner)
	}
	for _, agent := range []string{"ana", "bruno", "sue"} {
		want := 0
		if agent == winner {
			want = 1
		}
		if got := heldBy(t, h, agent); got != want {
			t.Errorf("%s holds %d, want %d", agent, got, want)
		}
	}
}
