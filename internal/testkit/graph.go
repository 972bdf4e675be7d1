// Package testkit is the project's one set of test doubles for Meta's
// platforms: a fake Graph API (Graph) that answers WhatsApp Cloud API and
// Messenger/Instagram Send API calls like Meta and records them, builders
// for the webhooks those platforms POST (signed with an app secret), a
// settable clock (Clock), and a small SMTP server for mail tests
// (SMTPServer).
//
// It sits beside channels as a test double, so it holds its own copy of
// Meta's JSON shapes and never imports the adapters' or the gateway's code;
// it imports only channels and channels/meta (for the signature). Tests
// import it freely; production code imports it only from the `try`
// simulator and the load tool, which run the fake Graph API for real.
package testkit

import (
	"cmp"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/channels"
)

// maxBody caps how much of a request the fake reads: Meta's own limit for
// uploads is larger, but no test sends more.
const maxBody = 32 << 20

// Responder decides the answer to the n-th call to a /messages endpoint
// (counting from 1, failed calls included): an HTTP status and body, or
// status 0 to answer as Meta would. The call is already decoded.
type Responder func(n int, s Send) (status int, body string)

// Option configures a Graph.
type Option func(*Graph)

// CountOnly makes the fake keep, for each message send, only its arrival
// time and its Ref under its recipient: no body, no decoded Send, no
// per-call bookkeeping beyond that. Requests and Sends then return
// nothing; Total, Arrivals, Recipients and SentAgain work. It is the mode of the load tool, where the
// fake must stay cheap under thousands of sends a second.
func CountOnly() Option { return func(g *Graph) { g.countOnly = true } }

// Listener serves the fake on l instead of a fresh loopback port.
func Listener(l net.Listener) Option { return func(g *Graph) { g.listener = l } }

// ArrivalClock sets the clock that stamps arrivals (default time.Now).
func ArrivalClock(now func() time.Time) Option { return func(g *Graph) { g.now = now } }

// Account is a business account the fake knows: sends to /<ID>/messages,
// or to /me/messages with Token, are answered as Platform does. An account
// with a Token also requires "Bearer <Token>" on its calls, answering 401
// with code 190 otherwise, as Meta does for a bad token.
type Account struct {
	Platform channels.Platform
	ID       string // phone_number_id, page id or Instagram account id
	Token    string // access token; "" accepts any
}

// Accounts registers the business accounts. Once there are some, a call for
// another id is refused (code 100, subcode 33), and so is a call to
// /me/messages whose token is no account's (code 190). Without them a call
// is WhatsApp when its body says messaging_product "whatsapp", else
// Messenger, and any token is accepted.
func Accounts(accounts ...Account) Option {
	return func(g *Graph) { g.accounts = append(g.accounts, accounts...) }
}

// Graph is a fake Meta Graph API on loopback. It serves, under an optional
// version prefix (/v24.0):
//
//	POST /<id>/messages             a WhatsApp or Messenger/Instagram send
//	POST /<id>/media                a WhatsApp media upload -> {"id": ...}
//	POST /<id>/message_attachments  a Messenger/Instagram upload -> {"attachment_id": ...}
//	GET  /<media id>                a WhatsApp media look-up -> {"url": ...}
//	GET  /download/<media id>       the media's bytes
//
// Every send is recorded, decoded (Send) and answered with a message id in
// its platform's format; failures are programmed with FailNext or Respond.
// It is safe for concurrent use.
type Graph struct {
	URL string // scheme://host:port, without a version

	srv       *httptest.Server
	listener  net.Listener
	now       func() time.Time
	countOnly bool
	accounts  []Account
	idPrefix  string // random per fake, so ids never repeat across runs

	calls    atomic.Int64 // calls to /messages
	total    atomic.Int64 // accepted message sends
	failing  atomic.Int64 // sends left to fail with failWith
	ids      atomic.Int64 // message, media and attachment ids issued
	mu       sync.Mutex
	failWith GraphError
	respond  Responder
	reqs     []Send
	arrivals map[string][]time.Time
	refs     map[string]struct{} // recipient + "\x00" + Ref of each message send
	again    map[string]int      // by recipient: sends repeating an earlier send's Ref
	uploads  []Upload
	media    map[string]Media
}

// NewGraph starts a fake Graph API for a test; it is closed when the test
// ends.
func NewGraph(t testing.TB, opts ...Option) *Graph {
	t.Helper()
	g := StartGraph(opts...)
	t.Cleanup(g.Close)
	return g
}

// StartGraph starts a fake Graph API; the caller closes it.
func StartGraph(opts ...Option) *Graph {
	g := &Graph{now: time.Now, arrivals: map[string][]time.Time{}, refs: map[string]struct{}{}, again: map[string]int{}, media: map[string]Media{}}
	for _, o := range opts {
		o(g)
	}
	g.idPrefix = strings.ToUpper(rand.Text()[:6])
	g.srv = httptest.NewUnstartedServer(g)
	if g.listener != nil {
		g.srv.Listener.Close()
		g.srv.Listener = g.listener
	}
	g.srv.Start()
	g.URL = g.srv.URL
	return g
}

// Close stops the server, waiting for the calls in progress.
func (g *Graph) Close() { g.srv.Close() }

// FailNext makes the next n calls to /messages fail with e (replacing what
// was left of an earlier FailNext). Failed calls are recorded with their
// status and are not sends.
func (g *Graph) FailNext(n int, e GraphError) {
	g.mu.Lock()
	g.failWith = e
	g.mu.Unlock()
	g.failing.Store(int64(n))
}

// Respond sets a Responder for later calls to /messages (nil removes it).
// FailNext, while it lasts, comes first.
func (g *Graph) Respond(r Responder) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.respond = r
}

// AddMedia makes a WhatsApp media id known: GET /<id> answers its URL
// and metadata, the URL serves Data.
func (g *Graph) AddMedia(m Media) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.media[m.ID] = m
}

// Calls is the number of calls to /messages so far, failed ones included.
func (g *Graph) Calls() int64 { return g.calls.Load() }

// Total is the number of message sends accepted (mark-read calls and sender
// actions excluded).
func (g *Graph) Total() int64 { return g.total.Load() }

// Requests returns every call to /messages so far, in arrival order:
// failed ones, mark-read calls and sender actions included.
func (g *Graph) Requests() []Send {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Send(nil), g.reqs...)
}

// Sends returns the accepted message sends, in arrival order.
func (g *Graph) Sends() []Send { return g.filter(func(Send) bool { return true }) }

// To returns the accepted message sends to one recipient (a wa_id without
// "+", a PSID or IGSID), in arrival order.
func (g *Graph) To(recipient string) []Send {
	return g.filter(func(s Send) bool { return s.To == recipient })
}

// Last returns the last accepted message send to a recipient.
func (g *Graph) Last(recipient string) (Send, bool) {
	sends := g.To(recipient)
	if len(sends) == 0 {
		return Send{}, false
	}
	return sends[len(sends)-1], true
}

// Since returns the accepted message sends after the first n, and the new
// count to pass next time.
func (g *Graph) Since(n int) ([]Send, int) {
	all := g.Sends()
	if n > len(all) {
		n = len(all)
	}
	return all[n:], len(all)
}

func (g *Graph) filter(keep func(Send) bool) []Send {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []Send
	for _, s := range g.reqs {
		if s.Accepted() && s.IsMessage() && keep(s) {
			out = append(out, s)
		}
	}
	return out
}

// Arrivals returns when each accepted message send to a recipient arrived.
func (g *Graph) Arrivals(recipient string) []time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]time.Time(nil), g.arrivals[recipient]...)
}

// Recipients returns how many accepted message sends each recipient got.
func (g *Graph) Recipients() map[string]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make(map[string]int, len(g.arrivals))
	for u, a := range g.arrivals {
		out[u] = len(a)
	}
	return out
}

// SentAgain returns how many of the accepted message sends to recipient
// carried the Ref (biz_opaque_callback_data or message.metadata) of an
// earlier one: the same message sent again, as a sender does that lost
// the acknowledgement of a send (Meta's Send API has no idempotency key).
func (g *Graph) SentAgain(recipient string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.again[recipient]
}

// Uploads returns the media uploads received, in arrival order.
func (g *Graph) Uploads() []Upload {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Upload(nil), g.uploads...)
}

var _ http.Handler = (*Graph)(nil)

// version matches a Graph API version path segment.
var version = regexp.MustCompile(`^v[0-9]+(\.[0-9]+)?$`)

// ServeHTTP implements http.Handler.
func (g *Graph) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) > 1 && version.MatchString(parts[0]) {
		parts = parts[1:]
	}
	switch {
	case r.Method == http.MethodPost && len(parts) == 2 && parts[1] == "messages":
		g.serveSend(w, r, parts[0])
	case r.Method == http.MethodPost && len(parts) == 2 && parts[1] == "media":
		g.serveUpload(w, r, parts[0], channels.WhatsApp)
	case r.Method == http.MethodPost && len(parts) == 2 && parts[1] == "message_attachments":
		g.serveUpload(w, r, parts[0], channels.Messenger)
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "download":
		g.serveDownload(w, r, parts[1])
	case r.Method == http.MethodGet && len(parts) == 1:
		g.serveMediaURL(w, r, parts[0])
	default:
		writeError(w, ErrUnknownObject)
	}
}

// account resolves the account a call is for, refusing an unknown account
// or a wrong token.
func (g *Graph) account(id, authorization string, whatsapp bool) (Account, *GraphError) {
	for _, a := range g.accounts {
		token := a.Token == "" || authorization == "Bearer "+a.Token
		switch {
		case a.ID == id && !token:
			return a, &ErrTokenExpired
		case a.ID == id || (id == "me" && a.Token != "" && token):
			return a, nil
		}
	}
	switch {
	case len(g.accounts) > 0 && id == "me":
		return Account{}, &ErrTokenExpired
	case len(g.accounts) > 0:
		return Account{}, &ErrUnknownObject
	case whatsapp:
		return Account{Platform: channels.WhatsApp, ID: id}, nil
	}
	return Account{Platform: channels.Messenger, ID: id}, nil
}

// programmedFailure returns the FailNext error when a failure is left.
func (g *Graph) programmedFailure() (GraphError, bool) {
	if g.failing.Load() <= 0 || g.failing.Add(-1) < 0 {
		return GraphError{}, false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.failWith, true
}

// countBody is what CountOnly reads of a send.
type countBody struct {
	MessagingProduct string `json:"messaging_product"`
	To               string `json:"to"`
	Status           string `json:"status"`
	SenderAction     string `json:"sender_action"`
	Callback         string `json:"biz_opaque_callback_data"`
	Recipient        struct {
		ID string `json:"id"`
	} `json:"recipient"`
	Message struct {
		Metadata string `json:"metadata"`
	} `json:"message"`
}

// arrive counts an accepted message send to recipient (under g.mu). A send
// whose ref an earlier send to the same recipient carried is the same
// message sent again (SentAgain).
func (g *Graph) arrive(recipient, ref string, at time.Time) {
	g.total.Add(1)
	g.arrivals[recipient] = append(g.arrivals[recipient], at)
	if ref == "" {
		return
	}
	key := recipient + "\x00" + ref
	if _, seen := g.refs[key]; seen {
		g.again[recipient]++
		return
	}
	g.refs[key] = struct{}{}
}

func (g *Graph) serveSend(w http.ResponseWriter, r *http.Request, id string) {
	at := g.now()
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		writeError(w, ErrInvalidParameter.With("the body could not be read"))
		return
	}
	n := int(g.calls.Add(1))
	auth := r.Header.Get("Authorization")
	if g.countOnly {
		g.serveCount(w, id, auth, body, at)
		return
	}
	s := decodeSend(body)
	s.Method, s.Path, s.Authorization, s.ContentType, s.At = r.Method, r.URL.Path, auth, r.Header.Get("Content-Type"), at
	acct, refused := g.account(id, auth, s.Platform == channels.WhatsApp)
	if refused == nil {
		s.Platform, s.Account = acct.Platform, acct.ID
	}
	status, answer := g.answer(n, &s, refused)
	s.Status = status
	g.mu.Lock()
	g.reqs = append(g.reqs, s)
	if s.Accepted() && s.IsMessage() {
		g.arrive(s.To, s.Ref, at)
	}
	g.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, answer)
}

// answer decides the status and body of a decoded send, setting s.MessageID
// and s.Error; refused is the account's refusal, if any.
func (g *Graph) answer(n int, s *Send, refused *GraphError) (int, string) {
	if refused != nil {
		s.Error = refused
		return refused.Status, refused.JSON()
	}
	if e, ok := g.programmedFailure(); ok {
		s.Error = &e
		return e.Status, e.JSON()
	}
	g.mu.Lock()
	respond := g.respond
	g.mu.Unlock()
	if respond != nil {
		if status, body := respond(n, *s); status != 0 {
			return status, body
		}
	}
	if s.Malformed {
		s.Error = &ErrInvalidParameter
		return ErrInvalidParameter.Status, ErrInvalidParameter.JSON()
	}
	if e := g.checkMedia(s); e != nil {
		s.Error = e
		return e.Status, e.JSON()
	}
	switch {
	case s.Kind == KindRead:
		return http.StatusOK, `{"success":true}`
	case s.Kind == KindSenderAction:
		return http.StatusOK, fmt.Sprintf(`{"recipient_id":%q}`, s.To)
	}
	s.MessageID = g.messageID(s.Platform)
	return http.StatusOK, successBody(s.Platform, s.To, s.MessageID)
}

// checkMedia fails a send by media id unless the fake issued that id, as
// Meta does for an id it does not know.
func (g *Graph) checkMedia(s *Send) *GraphError {
	if s.Media == nil || s.Media.ID == "" {
		return nil
	}
	g.mu.Lock()
	_, ok := g.media[s.Media.ID]
	g.mu.Unlock()
	if ok {
		return nil
	}
	e := ErrInvalidParameter.With("unknown media id " + s.Media.ID)
	return &e
}

func (g *Graph) serveCount(w http.ResponseWriter, id, auth string, body []byte, at time.Time) {
	var b countBody
	malformed := json.Unmarshal(body, &b) != nil
	acct, refused := g.account(id, auth, b.MessagingProduct == "whatsapp")
	to := strings.TrimPrefix(b.To, "+")
	if to == "" {
		to = b.Recipient.ID
	}
	w.Header().Set("Content-Type", "application/json")
	fail := func(e GraphError) {
		w.WriteHeader(e.Status)
		io.WriteString(w, e.JSON())
	}
	if refused != nil {
		fail(*refused)
		return
	}
	if e, ok := g.programmedFailure(); ok {
		fail(e)
		return
	}
	switch {
	case malformed || to == "":
		fail(ErrInvalidParameter)
		return
	case b.Status == "read":
		io.WriteString(w, `{"success":true}`)
		return
	case b.SenderAction != "":
		fmt.Fprintf(w, `{"recipient_id":%q}`, to)
		return
	}
	g.mu.Lock()
	g.arrive(to, cmp.Or(b.Callback, b.Message.Metadata), at)
	g.mu.Unlock()
	io.WriteString(w, successBody(acct.Platform, to, g.messageID(acct.Platform)))
}

// messageID returns a fresh message id in the platform's format: wamid.…
// for WhatsApp, m_… for Messenger, base64 of an ig_message_item for
// Instagram.
func (g *Graph) messageID(p channels.Platform) string {
	n := g.ids.Add(1)
	switch p {
	case channels.WhatsApp:
		return fmt.Sprintf("wamid.%s%08d", g.idPrefix, n)
	case channels.Instagram:
		return b64(fmt.Sprintf("ig_message_item:1:IGMessageID:%s%08d", g.idPrefix, n))
	}
	return fmt.Sprintf("m_%s%08d", g.idPrefix, n)
}

// successBody is Meta's answer to an accepted send.
func successBody(p channels.Platform, to, id string) string {
	if p == channels.WhatsApp {
		return fmt.Sprintf(`{"messaging_product":"whatsapp","contacts":[{"input":%q,"wa_id":%q}],"messages":[{"id":%q}]}`, "+"+to, to, id)
	}
	return fmt.Sprintf(`{"recipient_id":%q,"message_id":%q}`, to, id)
}

func writeError(w http.ResponseWriter, e GraphError) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	io.WriteString(w, e.JSON())
}

// Always is a Responder answering every call with status and body: a
// captured Meta answer, or something Meta never sends (an HTML 502).
func Always(status int, body string) Responder {
	return func(int, Send) (int, string) { return status, body }
}
