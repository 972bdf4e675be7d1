package e2e

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"switchboard/internal/testkit"
)

// "More ways to reach a human": messaging-to-call against a fake CCaaS
// provider, automatic assignment, the bot's notes and variables, and media
// for agents. The gateway runs with testdata/reach.yaml.tmpl, an HTTP bot
// (fakeBot) and a Graph API that also serves WhatsApp media.

// Channels of testdata/reach.yaml.tmpl.
const (
	chCall  = "wa-call"  // always open; offers a call (form-encoded, Basic auth)
	chAuto  = "wa-auto"  // automatic assignment; ana and bruno
	chNotes = "wa-notes" // display_name over the bot's variables; ana only
	chOther = "fb-other" // Messenger; carla only
)

func init() {
	channelInfos[chCall] = channelInfo{"whatsapp", "206540352242901"}
	channelInfos[chAuto] = channelInfo{"whatsapp", "206540352242902"}
	channelInfos[chNotes] = channelInfo{"whatsapp", "206540352242903"}
	channelInfos[chOther] = channelInfo{"messenger", "210000000000001"}
}

// Texts of the call option (config defaults) and of fakeBot.
const (
	txtChoose     = "Would you rather chat with an agent or get a phone call?"
	txtAskNumber  = "Which number should we call? Type it with the country code."
	txtConfirmed  = "Done: an agent will call you shortly."
	txtBotOK      = "ok"
	txtBotHandoff = "Let me get you someone."

	choiceChat       = "gw:reach:chat"
	choicePhone      = "gw:reach:phone"
	choiceThisNumber = "gw:call:this-number"

	ccaasAuth = "dXNlcjpwYXNz" // user:pass
	mediaBody = "\xff\xd8\xff\xe0 a tiny jpeg"
	mediaID   = "1234567890"
)

var reachTemplate = template.Must(template.ParseFiles("testdata/reach.yaml.tmpl"))

// fakeBot answers like a connected bot: "notes" hands off with a note and
// variables, "vip" hands off naming bruno, "hours?" answers the hours.
func fakeBot(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Message struct{ Text string } `json:"message"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		reply := map[string]any{"messages": []map[string]string{{"text": txtBotOK}}}
		switch strings.TrimSpace(req.Message.Text) {
		case "notes":
			reply = map[string]any{
				"messages":  []map[string]string{{"text": txtBotHandoff}},
				"handoff":   true,
				"variables": map[string]string{"first_name": "Marta", "company": "Acme"},
				"note":      "VIP customer, asked for a refund",
			}
		case "vip":
			reply = map[string]any{"messages": []map[string]string{{"text": txtBotHandoff}}, "handoff": true, "agent": "bruno"}
		case "hours?":
			reply = map[string]any{"messages": []map[string]string{{"text": txtHours}}}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(reply)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// CCaaS is a fake call provider in the style of Twilio's "create call":
// the number "+1 555 BAD" is refused with a message, a number starting with
// "+54" fails once with a 500 and then succeeds; anything else succeeds.
type CCaaS struct {
	URL  string
	mu   sync.Mutex
	reqs []CallRequest
}

// CallRequest is one request the provider received.
type CallRequest struct {
	Path, Authorization, ContentType, IdempotencyKey string
	Form                                             url.Values
	Status                                           int
}

func newCCaaS(t *testing.T) *CCaaS {
	c := &CCaaS{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(raw))
		req := CallRequest{Path: r.URL.Path, Authorization: r.Header.Get("Authorization"), ContentType: r.Header.Get("Content-Type"),
			IdempotencyKey: r.Header.Get("Idempotency-Key"), Form: form}
		c.mu.Lock()
		seen := 0
		for _, p := range c.reqs {
			if p.IdempotencyKey == req.IdempotencyKey {
				seen++
			}
		}
		to := form.Get("To")
		switch {
		case to == "+1 555 BAD":
			req.Status = http.StatusBadRequest
		case strings.HasPrefix(to, "+54") && seen == 0:
			req.Status = http.StatusInternalServerError
		default:
			req.Status = http.StatusCreated
		}
		c.reqs = append(c.reqs, req)
		c.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(req.Status)
		switch req.Status {
		case http.StatusBadRequest:
			io.WriteString(w, `{"error": {"code": 21211, "message": "The number +1 555 BAD is not valid."}}`)
		case http.StatusCreated:
			io.WriteString(w, `{"sid": "CA0001", "status": "queued"}`)
		default:
			io.WriteString(w, `{"message": "try later"}`)
		}
	}))
	t.Cleanup(srv.Close)
	c.URL = srv.URL
	return c
}

func (c *CCaaS) requests() []CallRequest {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]CallRequest(nil), c.reqs...)
}

// startReachGateway starts the gateway with testdata/reach.yaml.tmpl. Its
// fake Graph API also holds the WhatsApp media mediaID, which it serves
// (mediaBody) to wa-notes' token only.
func startReachGateway(t *testing.T, ccaas *CCaaS) *Gateway {
	t.Helper()
	t.Setenv("E2E_CCAAS_AUTH", ccaasAuth)
	secrets := newSecrets()
	secrets["carla"] = "carla-token-" + randomHex(12)
	g := &Gateway{Graph: newGraph(t, secrets), Secrets: secrets, http: &http.Client{Timeout: waitFor}}
	g.Graph.AddMedia(testkit.Media{ID: mediaID, MimeType: "image/jpeg", Data: []byte(mediaBody), Token: secrets[chNotes+".access"]})
	graphURL := g.Graph.URL
	botURL := fakeBot(t)
	for attempt := 0; ; attempt++ {
		port := freePort(t)
		g.URL = "http://" + net.JoinHostPort("127.0.0.1", port)
		var b strings.Builder
		data := map[string]any{"Listen": net.JoinHostPort("127.0.0.1", port), "GraphURL": graphURL + "/v24.0",
			"RedisURL": "", "Secrets": g.Secrets, "BotURL": botURL, "CCaaSURL": ccaas.URL}
		if err := reachTemplate.Execute(&b, data); err != nil {
			t.Fatal(err)
		}
		g.Config = writeFile(t, "gateway.yaml", b.String())
		err := g.start(t)
		if err == nil {
			break
		}
		if attempt < 3 && strings.Contains(g.Stderr(), "address already in use") {
			continue
		}
		t.Fatalf("gateway did not start: %v\nstderr:\n%s", err, g.Stderr())
	}
	t.Cleanup(func() {
		g.kill()
		if t.Failed() {
			t.Logf("gateway stderr:\n%s", g.Stderr())
		}
	})
	return g
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := t.TempDir() + "/" + name
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCallChoosePhoneRelayRefusalAndRetry(t *testing.T) {
	ccaas := newCCaaS(t)
	g := startReachGateway(t, ccaas)
	u := g.newUser(chCall)

	u.Says(t, "agent")
	choose := u.Receives(t, txtChoose)
	if ids := strings.Join(choiceIDs(choose), ","); ids != choicePhone+","+choiceChat && ids != choiceChat+","+choicePhone {
		t.Fatalf("choices = %v, want chat and phone", choose.Choices)
	}
	u.Taps(t, choicePhone, "Phone call")
	ask := u.Receives(t, txtAskNumber)
	if len(ask.Choices) != 1 || ask.Choices[0].ID != choiceThisNumber {
		t.Errorf("the number question offers %v, want the number the user writes from", ask.Choices)
	}

	// Refused with a message: relayed, and the number asked again.
	u.Says(t, "+1 555 BAD")
	u.Receives(t, "The number +1 555 BAD is not valid.")
	eventually(t, "the number asked again", func() bool { return u.Count(txtAskNumber) == 2 })

	// Accepted on the second number, after one 500 retried with backoff.
	u.Says(t, "+54 11 5555-0000")
	u.Receives(t, txtConfirmed)

	reqs := ccaas.requests()
	if len(reqs) != 3 {
		t.Fatalf("provider got %d requests, want 3 (refused, 500, accepted): %+v", len(reqs), reqs)
	}
	bad, failed, ok := reqs[0], reqs[1], reqs[2]
	if bad.Form.Get("To") != "+1 555 BAD" || failed.Form.Get("To") != "+54 11 5555-0000" || ok.Form.Get("To") != "+54 11 5555-0000" {
		t.Errorf("numbers sent %q, %q, %q: want them raw, as typed", bad.Form.Get("To"), failed.Form.Get("To"), ok.Form.Get("To"))
	}
	if failed.IdempotencyKey == "" || failed.IdempotencyKey != ok.IdempotencyKey || bad.IdempotencyKey == ok.IdempotencyKey {
		t.Errorf("idempotency keys %q, %q, %q: want one per answer, the same on a retry", bad.IdempotencyKey, failed.IdempotencyKey, ok.IdempotencyKey)
	}
	if ok.Authorization != "Basic "+ccaasAuth || ok.ContentType != "application/x-www-form-urlencoded" ||
		ok.Form.Get("From") != "+15550100" || ok.Form.Get("StatusCallback") != u.ConversationID() || ok.Path != "/2010-04-01/Accounts/AC123/Calls.json" {
		t.Errorf("accepted request = %+v", ok)
	}

	// The bot session is recorded as call_requested.
	eventually(t, "the call_requested session", func() bool {
		var report struct {
			Sessions []struct {
				Conversation string `json:"conversation"`
				Resolution   string `json:"resolution"`
				Kind         string `json:"kind"`
			} `json:"sessions"`
		}
		status, body := g.do(t, http.MethodGet, "/api/v1/admin/reports/sessions?channel="+chCall+"&resolution=call_requested", g.Secrets["admin"], nil, nil)
		if status != http.StatusOK || json.Unmarshal(body, &report) != nil {
			return false
		}
		for _, s := range report.Sessions {
			if s.Conversation == u.ConversationID() && s.Kind == "bot" {
				return true
			}
		}
		return false
	})
	m := g.metrics(t)
	for _, want := range []string{
		`switchboard_call_requests_total{channel="wa-call",outcome="requested"} 1`,
		`switchboard_call_requests_total{channel="wa-call",outcome="refused"} 1`,
		`switchboard_call_requests_total{channel="wa-call",outcome="retry"} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	c := g.conversation(t, u.ConversationID())
	if c.State != "ended" {
		t.Errorf("state after the call = %q, want ended", c.State)
	}
	calls := 0
	for _, e := range c.Transcript {
		if e.Kind == "call_request" {
			calls++
		}
	}
	if calls != 2 {
		t.Errorf("transcript has %d call requests, want 2", calls)
	}
}

func TestCallChatChoiceAndThisNumber(t *testing.T) {
	ccaas := newCCaaS(t)
	g := startReachGateway(t, ccaas)

	chat := g.newUser(chCall)
	chat.Says(t, "agent")
	chat.Receives(t, txtChoose)
	chat.Says(t, "1") // the text fallback: the first choice is the chat
	chat.Receives(t, txtTransferred)
	g.waitState(t, chat.ConversationID(), "waiting")

	tap := g.newUser(chCall)
	tap.Says(t, "agent")
	tap.Receives(t, txtChoose)
	tap.Says(t, "phone")
	tap.Receives(t, txtAskNumber)
	tap.Taps(t, choiceThisNumber, "This number")
	tap.Receives(t, txtConfirmed)
	reqs := ccaas.requests()
	if len(reqs) != 1 || reqs[0].Form.Get("To") != "+"+tap.ID {
		t.Fatalf("requests = %+v, want one to +%s", reqs, tap.ID)
	}
}

func TestAutoAssignment(t *testing.T) {
	g := startReachGateway(t, newCCaaS(t))
	presence := func(agent, status string) {
		g.mustAPI(t, http.StatusOK, agent, http.MethodPut, "/api/v1/agents/me/presence", map[string]string{"status": status}, nil)
	}
	assignedTo := func(u *User, agent string) {
		t.Helper()
		var c Conversation
		eventually(t, u.ID+" assigned", func() bool {
			return g.api(t, "ana", http.MethodGet, "/api/v1/conversations/"+u.ConversationID(), nil, &c) == http.StatusOK && c.State == "assigned"
		})
		if c.AssignedTo == nil || *c.AssignedTo != agent {
			t.Fatalf("%s assigned to %v, want %s", u.ID, c.AssignedTo, agent)
		}
	}

	// Nobody online: the conversation waits, and goes to the first agent
	// who comes online.
	first := g.newUser(chAuto)
	first.Says(t, "agent")
	first.Receives(t, txtTransferred)
	g.waitState(t, first.ConversationID(), "waiting")
	presence("ana", "online")
	assignedTo(first, "ana")
	first.Receives(t, txtAssignedAna)

	// Ana holds one, Bruno none: the next goes to Bruno.
	presence("bruno", "online")
	second := g.newUser(chAuto)
	second.Says(t, "agent")
	assignedTo(second, "bruno")

	// Equal load: the one idle longest (assigned least recently).
	third := g.newUser(chAuto)
	third.Says(t, "agent")
	assignedTo(third, "ana")
	fourth := g.newUser(chAuto)
	fourth.Says(t, "agent")
	assignedTo(fourth, "bruno")

	// Equal load again, Ana idle longest, but the bot named Bruno.
	vip := g.newUser(chAuto)
	vip.Says(t, "vip")
	assignedTo(vip, "bruno")

	// Offline agents get nothing; the conversation waits for one.
	presence("ana", "offline")
	presence("bruno", "offline")
	late := g.newUser(chAuto)
	late.Says(t, "agent")
	late.Receives(t, txtTransferred)
	g.waitState(t, late.ConversationID(), "waiting")
	presence("bruno", "online")
	assignedTo(late, "bruno")
}

func TestBotNotesVariablesDisplayNameAndMedia(t *testing.T) {
	g := startReachGateway(t, newCCaaS(t))
	u := g.newUser(chNotes)
	u.Says(t, "notes")
	u.Receives(t, txtBotHandoff)
	g.waitState(t, u.ConversationID(), "waiting")

	var full struct {
		Variables map[string]string `json:"variables"`
		Notes     []Entry           `json:"notes"`
		User      struct{ Name string }
	}
	g.mustAPI(t, http.StatusOK, "ana", http.MethodGet, "/api/v1/conversations/"+u.ConversationID(), nil, &full)
	if full.Variables["first_name"] != "Marta" || full.Variables["company"] != "Acme" {
		t.Errorf("variables = %v", full.Variables)
	}
	if len(full.Notes) != 1 || full.Notes[0].Text != "VIP customer, asked for a refund" || full.Notes[0].Author != "bot" {
		t.Errorf("notes = %+v, want the bot's note", full.Notes)
	}
	found := false
	for _, c := range g.line(t) {
		if c.ID == u.ConversationID() {
			found = true
			if c.User.Name != "Marta (Acme)" {
				t.Errorf("queue shows the user as %q, want the display_name %q", c.User.Name, "Marta (Acme)")
			}
		}
	}
	if !found {
		t.Fatal("the conversation is not in the queue")
	}

	// An image: proxied to ana with the channel's token; refused to carla.
	g.mustPost(t, chNotes, imageWebhook(u, "wamid.IMG"+nextID(), mediaID))
	eventually(t, "the image in the transcript", func() bool {
		for _, e := range g.conversation(t, u.ConversationID()).Transcript {
			if e.Kind == "media" {
				return true
			}
		}
		return false
	})
	status, body, ctype := g.getWithType(t, "/api/v1/media/"+u.ConversationID()+"/"+mediaID, g.Secrets["ana"])
	if status != http.StatusOK || string(body) != mediaBody || ctype != "image/jpeg" {
		t.Errorf("media as ana: %d %q %q", status, ctype, body)
	}
	if status, _, _ := g.getWithType(t, "/api/v1/media/"+u.ConversationID()+"/"+mediaID, g.Secrets["carla"]); status != http.StatusForbidden {
		t.Errorf("media as an agent of another channel: %d, want 403", status)
	}
	if status, _, _ := g.getWithType(t, "/api/v1/media/"+u.ConversationID()+"/999", g.Secrets["ana"]); status != http.StatusNotFound {
		t.Errorf("a media id not in the transcript: %d, want 404", status)
	}

	// Ana takes it and sends a document by URL.
	g.mustAPI(t, http.StatusOK, "ana", http.MethodPost, "/api/v1/queue/claim?channel="+chNotes, nil, nil)
	g.mustAPI(t, http.StatusAccepted, "ana", http.MethodPost, "/api/v1/conversations/"+u.ConversationID()+"/messages",
		map[string]any{"attachment": map[string]string{"type": "document", "url": "https://example.com/invoice.pdf", "caption": "Your invoice"}}, nil)
	eventually(t, "the document sent", func() bool {
		for _, s := range g.Graph.To(u.ID) {
			if m := s.Media; m != nil && m.Type == "document" && m.Link == "https://example.com/invoice.pdf" && m.Caption == "Your invoice" {
				return true
			}
		}
		return false
	})
}

// imageWebhook is a WhatsApp image message from u.
func imageWebhook(u *User, id, mediaID string) []byte {
	return testkit.WhatsAppMessage(channelInfos[u.Channel].account, testkit.Inbound{ID: id, From: u.ID, Name: u.Name, At: time.Now(),
		Media: &testkit.InboundMedia{Type: "image", ID: mediaID, MimeType: "image/jpeg", Caption: "my receipt"}})
}

// choiceIDs lists the ids of a send's choices.
func choiceIDs(s testkit.Send) []string {
	var ids []string
	for _, c := range s.Choices {
		ids = append(ids, c.ID)
	}
	return ids
}

// getWithType GETs path with a bearer token, not following redirects.
func (g *Gateway) getWithType(t *testing.T, path, token string) (int, []byte, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, g.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	client := &http.Client{Timeout: waitFor, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	g.openAPI(t).Check(t, req, nil, resp, body)
	return resp.StatusCode, body, resp.Header.Get("Content-Type")
}

// A call requested after the contact was erased reaches the provider under
// a new idempotency key: the erased conversation's finished call task is
// not mistaken for the new request (which would leave the user in
// "calling" and the provider with nothing).
func TestCallAfterErasureIsRequestedAgain(t *testing.T) {
	ccaas := newCCaaS(t)
	g := startReachGateway(t, ccaas)
	u := g.newUser(chCall)
	request := func() {
		t.Helper()
		u.Says(t, "agent")
		u.Receives(t, txtChoose)
		u.Taps(t, choicePhone, "Phone call")
		u.Receives(t, txtAskNumber)
		u.Says(t, "+54 11 5555-0000")
		u.Receives(t, txtConfirmed)
	}
	request()
	path := "/api/v1/admin/contacts/" + chCall + "/" + u.ID
	if status, body := g.do(t, http.MethodDelete, path, g.Secrets["admin"], nil, nil); status != http.StatusOK {
		t.Fatalf("erasure = %d %s", status, body)
	}
	request()
	// Each call is one key: refused once with a 500 by this provider, then
	// accepted on the retry.
	keys, accepted := map[string]bool{}, 0
	for _, r := range ccaas.requests() {
		keys[r.IdempotencyKey] = true
		if r.Status == http.StatusCreated {
			accepted++
		}
	}
	if len(keys) != 2 || accepted != 2 {
		t.Errorf("provider accepted %d calls under %d idempotency keys, want 2 under 2: %+v", accepted, len(keys), ccaas.requests())
	}
	if c := g.conversation(t, u.ConversationID()); c.State != "ended" {
		t.Errorf("state after the second call = %q, want ended", c.State)
	}
}
