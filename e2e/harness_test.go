// Package e2e runs the real gateway binary: TestMain builds it once, each
// test starts it with a configuration of its own (testdata/gateway.yaml.tmpl)
// on a free loopback port, points it at a fake Graph API that records every
// send, posts signed webhooks and drives the agent API over HTTP.
//
// Nothing here sleeps for a fixed time: waiting for asynchronous work means
// polling something observable (a send reached the fake Graph API, a
// conversation's state) until a deadline that only matters on failure.
package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"text/template"
	"time"

	"switchboard/channels"
	"switchboard/channels/meta"
	"switchboard/internal/testkit"
	"switchboard/queue"
	"switchboard/queue/redistest"

	"go.uber.org/goleak"
)

// Deadlines: generous, since they only matter when something is broken and
// the suite must pass on a loaded two-core machine.
const (
	waitFor     = 10 * time.Second // asynchronous work to show
	startWithin = 15 * time.Second // the gateway to be ready
	stopWithin  = 5 * time.Second  // SIGTERM to exit
)

// binary is the gateway built by TestMain.
var binary string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "switchboard-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "gateway")
	args := []string{"build", "-o", binary}
	if raceEnabled {
		// A race in the gateway makes it exit 66, which Stop reports.
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "./cmd/gateway")...)
	cmd.Dir = ".." // the module root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building the gateway:", err)
		return 1
	}
	code := m.Run()
	if code == 0 {
		// The fakes and clients of the tests are gone once they end.
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 1
		}
	}
	return code
}

// Channels of testdata/gateway.yaml.tmpl.
const (
	chOpen   = "wa-open"   // WhatsApp, no hours: always open
	chClosed = "wa-closed" // WhatsApp, always closed, after_hours ask, direct false
	chDirect = "wa-direct" // WhatsApp, always closed, after_hours ask, direct true
	chFB     = "fb-closed" // Messenger, always closed, after_hours ask
)

// channelInfo is what a webhook for a channel needs.
type channelInfo struct {
	platform channels.Platform
	account  string // phone_number_id or page id
}

var channelInfos = map[string]channelInfo{
	chOpen:   {"whatsapp", "106540352242922"},
	chClosed: {"whatsapp", "106540352242933"},
	chDirect: {"whatsapp", "106540352242944"},
	chFB:     {"messenger", "110000000000001"},
}

// Texts of the gateway configuration (the template's and the defaults).
const (
	txtGreeting       = "Hi! I am the virtual assistant."
	txtFallback       = "Sorry, I did not understand that."
	txtHours          = "We are open Monday to Friday, 9:00 to 18:00."
	txtOffer          = "Our team is offline right now. Do you want to wait for an agent?"
	txtYes            = "Wait"
	txtNo             = "No, thanks"
	txtAttention      = "You are in line. An agent will answer as soon as one is available."
	txtDeclined       = "All right, I will keep helping you here."
	txtTransferred    = "Connecting you with an agent."
	txtAlreadyWaiting = "You are already in line; your place is kept."
	txtAgentAvailable = "An agent is available now and will answer shortly."
	txtKeptForAgent   = "Your message was kept; the agent will see it."
	txtAssignedAna    = "You are now talking with Ana."
	txtAssignedBruno  = "You are now talking with Bruno."
	txtClosed         = "This conversation was closed. Write again any time."
	txtHandedBack     = "You are back with the virtual assistant."

	choiceWait   = "gw:wait:yes"
	choiceNoWait = "gw:wait:no"
)

// waitChoices are the offer's choices.
var waitChoices = []channels.Choice{{ID: choiceWait, Title: txtYes}, {ID: choiceNoWait, Title: txtNo}}

// options vary the gateway's configuration.
type options struct {
	// RedisURL is empty for the embedded Redis, or, with
	// SWITCHBOARD_TEST_REDIS=cluster or =sentinel, for a test cluster or
	// Sentinel set (queue/redistest), unless Redis is set.
	RedisURL string
	// Redis, when set, is the cluster or Sentinel set to use.
	Redis *redistest.Server
	// WaitReplicas is redis.wait_replicas.
	WaitReplicas int
	// TLS serves HTTPS with a self-signed certificate the test trusts.
	TLS bool
	// Inactivity is every channel's inactivity_timeout; default 24h.
	Inactivity time.Duration
	// LogLevel defaults to info.
	LogLevel string
}

// Gateway is one running gateway process.
type Gateway struct {
	URL     string
	Graph   *testkit.Graph
	Secrets map[string]string
	Config  string // the configuration file

	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan struct{} // closed when the process exited
	err    error         // its Wait error, set before done is closed
	http   *http.Client
}

// startGateway writes a configuration for opts and starts the gateway,
// returning once /readyz answers 200. The process is stopped when the test
// ends; its stderr is shown if the test failed.
func startGateway(t *testing.T, opts options) *Gateway {
	t.Helper()
	if opts.Inactivity == 0 {
		opts.Inactivity = 24 * time.Hour
	}
	if opts.LogLevel == "" {
		opts.LogLevel = "info"
	}
	secrets := newSecrets()
	g := &Gateway{Graph: newGraph(t, secrets), Secrets: secrets, http: &http.Client{Timeout: waitFor}}
	redisExtra := redisYAML(t, &opts)
	scheme, tlsFiles := "http", any(nil)
	if opts.TLS {
		cert, key, pool := selfSigned(t)
		scheme, tlsFiles = "https", map[string]string{"Cert": cert, "Key": key}
		g.http.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	}
	// The free port may be taken between the probe and the gateway's
	// listen; try a few.
	for attempt := 0; ; attempt++ {
		port := freePort(t)
		g.URL = scheme + "://" + net.JoinHostPort("127.0.0.1", port)
		g.Config = writeConfig(t, map[string]any{
			"Listen":     net.JoinHostPort("127.0.0.1", port),
			"GraphURL":   g.Graph.URL + "/v24.0",
			"RedisURL":   opts.RedisURL,
			"RedisExtra": redisExtra,
			"TLS":        tlsFiles,
			"Inactivity": opts.Inactivity.String(),
			"LogLevel":   opts.LogLevel,
			"Secrets":    g.Secrets,
		})
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

func (g *Gateway) start(t *testing.T) error {
	g.stderr = &syncBuffer{}
	g.cmd = exec.Command(binary, "serve", "--config", g.Config)
	g.cmd.Stdout, g.cmd.Stderr = g.stderr, g.stderr
	g.cmd.Env = gatewayEnv()
	if err := g.cmd.Start(); err != nil {
		return err
	}
	g.done = make(chan struct{})
	go func() {
		g.err = g.cmd.Wait()
		close(g.done)
	}()
	deadline := time.Now().Add(startWithin)
	for time.Now().Before(deadline) {
		select {
		case <-g.done:
			return fmt.Errorf("exited early: %v", g.err)
		default:
		}
		if status, _ := g.get(t, "/readyz", ""); status == http.StatusOK {
			return nil
		}
		time.Sleep(20 * time.Millisecond) // polling readiness
	}
	g.kill()
	return errors.New("not ready in time")
}

// gatewayEnv is the gateway's environment: the test's, without variables
// the example configuration would read.
func gatewayEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "REDIS_URL=") && !strings.HasPrefix(kv, "GORACE=") {
			env = append(env, kv)
		}
	}
	return env
}

// Stop sends SIGTERM and checks the gateway exits 0 within stopWithin.
func (g *Gateway) Stop(t *testing.T) {
	t.Helper()
	if err := g.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-g.done:
	case <-time.After(stopWithin):
		t.Fatalf("gateway still running %s after SIGTERM", stopWithin)
	}
	if g.err != nil {
		t.Fatalf("gateway exit after SIGTERM: %v, want exit code 0", g.err)
	}
	if strings.Contains(g.Stderr(), "DATA RACE") {
		t.Fatalf("the gateway reported a data race")
	}
}

// kill ends a gateway that is still running.
func (g *Gateway) kill() {
	if g.cmd == nil || g.cmd.Process == nil {
		return
	}
	select {
	case <-g.done:
		return
	default:
	}
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.done:
	case <-time.After(stopWithin):
		_ = g.cmd.Process.Kill()
		<-g.done
	}
}

// Stderr is what the gateway logged so far.
func (g *Gateway) Stderr() string { return g.stderr.String() }

func newSecrets() map[string]string {
	s := map[string]string{}
	for _, name := range []string{"admin", "ana", "bruno"} {
		s[name] = name + "-token-" + randomHex(12)
	}
	for ch := range channelInfos {
		for _, kind := range []string{"app", "verify", "access"} {
			s[ch+"."+kind] = ch + "-" + kind + "-" + randomHex(12)
		}
	}
	return s
}

// newGraph starts the fake Graph API, knowing every channel's account and
// access token: a send with another token is refused as Meta would.
func newGraph(t *testing.T, secrets map[string]string) *testkit.Graph {
	var accounts []testkit.Account
	for ch, info := range channelInfos {
		accounts = append(accounts, testkit.Account{Platform: info.platform, ID: info.account, Token: secrets[ch+".access"]})
	}
	return testkit.NewGraph(t, testkit.Accounts(accounts...))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// redisYAML returns the lines of the redis section that point the gateway
// at opts.Redis, or, when the environment asks for a cluster or a Sentinel
// set and opts names no Redis, at a new one of those; "" for a URL or the
// embedded Redis.
func redisYAML(t *testing.T, opts *options) string {
	t.Helper()
	if opts.Redis == nil && opts.RedisURL == "" {
		if m := os.Getenv(redistest.EnvMode); m == "cluster" || m == "sentinel" {
			opts.Redis = redistest.Start(t)
		}
	}
	var lines []string
	if s := opts.Redis; s != nil {
		switch s.Kind {
		case "cluster":
			lines = append(lines, fmt.Sprintf("  cluster: [%s]", quoteAll(s.Cluster)))
		case "sentinel":
			lines = append(lines, fmt.Sprintf("  sentinel: {master: %q, addrs: [%s]}", redistest.SentinelMaster, quoteAll(s.SentinelAddrs)))
		default:
			opts.RedisURL = s.URL
		}
	}
	if opts.WaitReplicas > 0 {
		lines = append(lines, fmt.Sprintf("  wait_replicas: %d", opts.WaitReplicas))
	}
	return strings.Join(lines, "\n")
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

var configTemplate = template.Must(template.ParseFiles("testdata/gateway.yaml.tmpl"))

func writeConfig(t *testing.T, data map[string]any) string {
	t.Helper()
	var b bytes.Buffer
	if err := configTemplate.Execute(&b, data); err != nil {
		t.Fatalf("config template: %v", err)
	}
	path := filepath.Join(t.TempDir(), "gateway.yaml")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// syncBuffer is a bytes.Buffer safe for the process' writes and the test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// eventually polls cond until it holds, failing the test after waitFor.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", waitFor, what)
		}
		time.Sleep(20 * time.Millisecond) // polling an observable condition
	}
}

// --- HTTP -------------------------------------------------------------------

// do sends a request and returns the status and body.
func (g *Gateway) do(t *testing.T, method, path, token string, header http.Header, body []byte) (int, []byte) {
	t.Helper()
	status, data, _ := g.exchange(t, method, path, token, header, body)
	return status, data
}

// exchange is do that also returns the answer's headers; status 0 and the
// error's text when the request got no answer.
func (g *Gateway) exchange(t *testing.T, method, path, token string, header http.Header, body []byte) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, g.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := g.http.Do(req)
	if err != nil {
		return 0, []byte(err.Error()), nil
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if strings.HasPrefix(path, "/api/v1/") {
		g.openAPI(t).Check(t, req, body, resp, data)
	}
	return resp.StatusCode, data, resp.Header
}

// openAPI is the checker of the OpenAPI document the gateway serves (the
// same binary every test runs, so it is fetched once): every /api/v1
// exchange is checked against it, so the document cannot drift from the
// server unnoticed.
func (g *Gateway) openAPI(t *testing.T) *testkit.OpenAPIChecker {
	t.Helper()
	servedOpenAPI.once.Do(func() {
		servedOpenAPI.checker, servedOpenAPI.err = func() (*testkit.OpenAPIChecker, error) {
			resp, err := g.http.Get(g.URL + "/api/v1/openapi.yaml")
			if err != nil {
				return nil, err
			}
			defer resp.Body.Close()
			spec, err := io.ReadAll(resp.Body)
			if err != nil || resp.StatusCode != http.StatusOK {
				return nil, fmt.Errorf("GET /api/v1/openapi.yaml: %d %v", resp.StatusCode, err)
			}
			return testkit.ParseOpenAPI(spec)
		}()
	})
	if servedOpenAPI.err != nil {
		t.Fatal(servedOpenAPI.err)
	}
	return servedOpenAPI.checker
}

var servedOpenAPI struct {
	once    sync.Once
	checker *testkit.OpenAPIChecker
	err     error
}

func (g *Gateway) get(t *testing.T, path, token string) (int, []byte) {
	t.Helper()
	return g.do(t, http.MethodGet, path, token, nil, nil)
}

// api calls the agent API as agent (ana, bruno) with a JSON body (nil for
// none) and decodes a JSON answer into out (nil to skip).
func (g *Gateway) api(t *testing.T, agent, method, path string, in, out any) int {
	t.Helper()
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			t.Fatal(err)
		}
	}
	status, data := g.do(t, method, path, g.Secrets[agent], nil, body)
	if out != nil && len(data) > 0 && status < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %d %q: %v", method, path, status, data, err)
		}
	}
	return status
}

// mustAPI is api that fails the test unless the status is want.
func (g *Gateway) mustAPI(t *testing.T, want int, agent, method, path string, in, out any) {
	t.Helper()
	if status := g.api(t, agent, method, path, in, out); status != want {
		t.Fatalf("%s %s as %s: status %d, want %d", method, path, agent, status, want)
	}
}

// Conversation is the agent API's conversation JSON.
type Conversation struct {
	ID           string `json:"id"`
	Channel      string `json:"channel"`
	Platform     string `json:"platform"`
	User         struct{ ID, Name string }
	State        string     `json:"state"`
	Position     int        `json:"position"`
	WaitingSince *time.Time `json:"waiting_since"`
	AssignedTo   *string    `json:"assigned_to"`
	LastMessage  *struct {
		Text string `json:"text"`
	} `json:"last_message"`
	Transcript []Entry `json:"transcript"`
	Notes      []Entry `json:"notes"`
}

// Entry is a transcript line or a note.
type Entry struct {
	ID      string `json:"id"`
	Author  string `json:"author"`
	Kind    string `json:"kind"`
	Text    string `json:"text"`
	EventID string `json:"event_id"`
}

// conversation loads a conversation as ana.
func (g *Gateway) conversation(t *testing.T, id string) Conversation {
	t.Helper()
	var c Conversation
	g.mustAPI(t, http.StatusOK, "ana", http.MethodGet, "/api/v1/conversations/"+id, nil, &c)
	return c
}

// line lists the waiting conversations ana sees.
func (g *Gateway) line(t *testing.T) []Conversation {
	t.Helper()
	var out struct {
		Conversations []Conversation `json:"conversations"`
	}
	g.mustAPI(t, http.StatusOK, "ana", http.MethodGet, "/api/v1/queue", nil, &out)
	return out.Conversations
}

// inLine counts the entries of conversation id in the line.
func (g *Gateway) inLine(t *testing.T, id string) int {
	t.Helper()
	n := 0
	for _, c := range g.line(t) {
		if c.ID == id {
			n++
		}
	}
	return n
}

// waitState polls a conversation until it is in state.
func (g *Gateway) waitState(t *testing.T, id, state string) Conversation {
	t.Helper()
	var c Conversation
	eventually(t, "conversation "+id+" in state "+state, func() bool {
		c = g.conversation(t, id)
		return c.State == state
	})
	return c
}

// metrics returns the /metrics text.
func (g *Gateway) metrics(t *testing.T) string {
	t.Helper()
	status, body := g.get(t, "/metrics", "")
	if status != http.StatusOK {
		t.Fatalf("/metrics: %d", status)
	}
	return string(body)
}

// metricValue finds the sample of a metric whose labels include labels, in
// Prometheus text format, and returns its value.
func metricValue(text, name string, labels map[string]string) (float64, bool) {
	for _, line := range strings.Split(text, "\n") {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest != "" && rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		set, value := "", rest
		if strings.HasPrefix(rest, "{") {
			end := strings.LastIndexByte(rest, '}')
			if end < 0 {
				continue
			}
			set, value = rest[1:end], rest[end+1:]
		}
		match := true
		for k, v := range labels {
			if !strings.Contains(","+set+",", ","+k+"="+strconv.Quote(v)+",") {
				match = false
			}
		}
		if !match {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		return f, err == nil
	}
	return 0, false
}

// --- webhooks ---------------------------------------------------------------

var eventSeq atomic.Int64

// nextID returns a unique suffix for event and user ids.
func nextID() string {
	return fmt.Sprintf("%d%s", eventSeq.Add(1), randomHex(4))
}

// User is someone writing to a channel.
type User struct {
	g       *Gateway
	Channel string
	ID      string // wa_id or PSID
	Name    string

	received int // how many of the sends to the user Receives went past
}

var userSeq atomic.Int64

// newUser returns a user of the channel no other test uses.
func (g *Gateway) newUser(channel string) *User {
	n := userSeq.Add(1)
	id := fmt.Sprintf("55119%08d", n)
	if channelInfos[channel].platform == channels.Messenger {
		id = fmt.Sprintf("70000000%08d", n)
	}
	return &User{g: g, Channel: channel, ID: id, Name: fmt.Sprintf("User %d", n)}
}

// ConversationID is the id the gateway gives the user's conversation.
func (u *User) ConversationID() string { return queue.ConversationID(u.Channel, u.ID) }

// body builds the webhook body of a text (payload "") or a tapped choice
// (context: the message whose choice was tapped).
func (u *User) body(text, payload, context string) (body []byte, eventID string) {
	info := channelInfos[u.Channel]
	in := testkit.Inbound{From: u.ID, Name: u.Name, At: time.Now(), Text: text, Choice: payload, Context: context}
	if info.platform == channels.WhatsApp {
		in.ID = "wamid.E2E" + nextID()
	} else {
		in.ID = "m_E2E" + nextID()
	}
	return testkit.Message(info.platform, info.account, in), in.ID
}

// Says posts a signed text message and checks the gateway answers 200.
func (u *User) Says(t *testing.T, text string) string {
	t.Helper()
	body, id := u.body(text, "", "")
	u.g.mustPost(t, u.Channel, body)
	return id
}

// Taps posts a tapped WhatsApp reply button or Messenger quick reply.
func (u *User) Taps(t *testing.T, payload, title string) string {
	t.Helper()
	context := ""
	if last, ok := u.g.Graph.Last(u.ID); ok {
		context = last.MessageID
	}
	body, id := u.body(title, payload, context)
	u.g.mustPost(t, u.Channel, body)
	return id
}

// postWebhook posts body to the channel's platform, signed with the
// channel's app secret.
func (g *Gateway) postWebhook(t *testing.T, channel string, body []byte) (int, []byte) {
	t.Helper()
	signed := testkit.Sign(channelInfos[channel].platform, body, g.Secrets[channel+".app"])
	h := http.Header{meta.SignatureHeader: {signed.Signature}}
	return g.do(t, http.MethodPost, "/webhooks/"+string(signed.Platform), "", h, body)
}

func (g *Gateway) mustPost(t *testing.T, channel string, body []byte) {
	t.Helper()
	if status, resp := g.postWebhook(t, channel, body); status != http.StatusOK {
		t.Fatalf("webhook: %d %s", status, resp)
	}
}

// Receives waits until the fake Graph API got a send of text to the user,
// later than the one the previous Receives returned, and returns it.
func (u *User) Receives(t *testing.T, text string) testkit.Send {
	t.Helper()
	var found testkit.Send
	eventually(t, fmt.Sprintf("%q sent to %s", text, u.ID), func() bool {
		sends := u.g.Graph.To(u.ID)
		for i := u.received; i < len(sends); i++ {
			if sends[i].Text == text {
				found, u.received = sends[i], i+1
				return true
			}
		}
		return false
	})
	return found
}

// Count is how many sends of text the user got so far.
func (u *User) Count(text string) int {
	n := 0
	for _, s := range u.g.Graph.To(u.ID) {
		if s.Text == text {
			n++
		}
	}
	return n
}

// sync waits until every message the user sent before is processed: it
// asks the bot something (the conversation must be with the bot, directly
// or while waiting) and waits for the answer. Events of one conversation
// are processed in order, so anything earlier was handled by then.
func (u *User) sync(t *testing.T) {
	t.Helper()
	before := u.Count(txtHours)
	u.Says(t, "hours?")
	eventually(t, "the answer to the sync message", func() bool { return u.Count(txtHours) > before })
}
