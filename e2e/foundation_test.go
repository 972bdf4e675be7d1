package e2e

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestHealthReadinessMetricsAndShutdown(t *testing.T) {
	t.Parallel()
	g := startGateway(t, options{})

	if status, body := g.get(t, "/healthz", ""); status != http.StatusOK {
		t.Errorf("/healthz: %d %s, want 200", status, body)
	}
	if status, body := g.get(t, "/readyz", ""); status != http.StatusOK {
		t.Errorf("/readyz: %d %s, want 200", status, body)
	}
	status, _ := g.get(t, "/metrics", "")
	if status != http.StatusOK {
		t.Fatalf("/metrics: %d, want 200", status)
	}
	// The /healthz request above is counted by now: the count is taken
	// before the response is finished.
	m := g.metrics(t)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^# TYPE go_goroutines gauge$`),
		regexp.MustCompile(`(?m)^go_goroutines \d+`),
		regexp.MustCompile(`(?m)^# TYPE switchboard_http_requests_total counter$`),
		regexp.MustCompile(`(?m)^# TYPE switchboard_http_request_duration_seconds histogram$`),
	} {
		if !want.MatchString(m) {
			t.Errorf("/metrics has no line matching %s", want)
		}
	}
	for _, want := range []struct {
		name   string
		labels map[string]string
		value  float64
	}{
		{"switchboard_http_requests_total", map[string]string{"route": "/healthz", "method": "GET", "status": "200"}, 1},
		{"switchboard_http_request_duration_seconds_bucket", map[string]string{"route": "/healthz", "le": "+Inf"}, 1},
		{"switchboard_http_request_duration_seconds_count", map[string]string{"route": "/healthz"}, 1},
	} {
		if v, ok := metricValue(m, want.name, want.labels); !ok || v != want.value {
			t.Errorf("/metrics: %s%v = %v (found %v), want %v", want.name, want.labels, v, ok, want.value)
		}
	}
	if _, ok := metricValue(m, "switchboard_http_requests_total", map[string]string{"route": "/readyz", "status": "200"}); !ok {
		t.Errorf("/metrics does not count /readyz")
	}
	if v, ok := metricValue(m, "switchboard_http_request_duration_seconds_bucket", map[string]string{"route": "/healthz", "le": "0.005"}); !ok || v > 1 {
		t.Errorf("/metrics has no 5 ms bucket for /healthz")
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", m)
	}

	start := time.Now()
	g.Stop(t)
	t.Logf("stopped in %s", time.Since(start))
}

// run runs the gateway binary with args and returns its exit code and output.
func run(t *testing.T, timeout time.Duration, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.Env = gatewayEnv()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("gateway %v still running after %s\nstderr:\n%s", args, timeout, errOut.String())
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatalf("gateway %v: %v", args, err)
	}
	return code, out.String(), errOut.String()
}

func TestCheck(t *testing.T) {
	t.Parallel()
	t.Run("example", func(t *testing.T) {
		code, stdout, stderr := run(t, waitFor, "check", "--config", "../config/example.yaml")
		if code != 0 {
			t.Fatalf("check config/example.yaml: exit %d, want 0\n%s%s", code, stdout, stderr)
		}
		if !strings.Contains(stdout, "ok") {
			t.Errorf("stdout %q does not say ok", stdout)
		}
	})
	t.Run("broken", func(t *testing.T) {
		code, stdout, stderr := run(t, waitFor, "check", "--config", "testdata/broken.yaml")
		if code != 1 {
			t.Fatalf("check testdata/broken.yaml: exit %d, want 1\n%s%s", code, stdout, stderr)
		}
		for _, want := range []string{
			`testdata/broken.yaml:15: channels[0].hours.timezone: unknown time zone "Mars/Olympus_Mons"`,
			`testdata/broken.yaml:17: channels[0].hours.weekly.mon: `,
			`testdata/broken.yaml:19: channels[0].derivation.after_hours: `,
		} {
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, stderr)
			}
		}
		line := regexp.MustCompile(`^testdata/broken\.yaml:\d+: [a-z_\[\]0-9.]+: .+$`)
		for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
			if !line.MatchString(l) {
				t.Errorf("stderr line %q is not file:line: path: message", l)
			}
		}
	})
	t.Run("serve_broken", func(t *testing.T) {
		code, _, stderr := run(t, waitFor, "serve", "--config", "testdata/broken.yaml")
		if code == 0 || !strings.Contains(stderr, "channels[0].hours.timezone") {
			t.Fatalf("serve testdata/broken.yaml: exit %d, stderr:\n%s\nwant non-zero naming the problem", code, stderr)
		}
	})
}

// TestRedisAtStart: a gateway whose Redis is unusable exits non-zero with
// a message naming redis.url, without the password of the URL.
func TestRedisAtStart(t *testing.T) {
	t.Parallel()
	// A port nothing listens on: taken, then closed.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()

	const password = "pw-e2e-7f3a9c"
	for name, url := range map[string]string{
		"malformed":   "http://:" + password + "@localhost:6379/0",
		"bad_db":      "redis://:" + password + "@127.0.0.1:6379/notanumber",
		"unreachable": "redis://:" + password + "@" + closed + "/0",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			secrets := newSecrets()
			path := writeConfig(t, map[string]any{
				"Listen": "127.0.0.1:0", "GraphURL": "http://127.0.0.1:1/v24.0", "RedisURL": url,
				"Inactivity": "24h", "LogLevel": "debug", "Secrets": secrets,
			})
			code, stdout, stderr := run(t, startWithin, "serve", "--config", path)
			if code == 0 {
				t.Fatalf("serve with redis.url %s: exit 0, want non-zero", name)
			}
			if !strings.Contains(stderr, "redis.url") {
				t.Errorf("stderr does not name redis.url:\n%s", stderr)
			}
			for _, s := range append([]string{password}, values(secrets)...) {
				if strings.Contains(stdout+stderr, s) {
					t.Errorf("output holds the secret %q:\n%s", s, stderr)
				}
			}
		})
	}
}

func values(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// TestSecretsNeverLogged runs a bit of everything at debug level, good
// requests and bad ones, and checks no configured secret reaches stderr.
func TestSecretsNeverLogged(t *testing.T) {
	t.Parallel()
	g := startGateway(t, options{LogLevel: "debug"})

	// A handshake with the right token and one with a wrong token.
	g.get(t, "/webhooks/whatsapp?hub.mode=subscribe&hub.challenge=42&hub.verify_token="+g.Secrets[chOpen+".verify"], "")
	g.get(t, "/webhooks/whatsapp?hub.mode=subscribe&hub.challenge=42&hub.verify_token=wrong", "")
	// A badly signed webhook, then a conversation through to an agent reply.
	u := g.newUser(chClosed)
	body, _ := u.body("hello", "", "")
	g.do(t, http.MethodPost, "/webhooks/whatsapp", "", http.Header{"X-Hub-Signature-256": {"sha256=00"}}, body)
	u.Says(t, "agent")
	u.Receives(t, txtOffer)
	u.Taps(t, choiceWait, txtYes)
	u.Receives(t, txtAttention)
	g.mustAPI(t, http.StatusOK, "ana", http.MethodPost, "/api/v1/queue/claim", nil, nil)
	g.mustAPI(t, http.StatusAccepted, "ana", http.MethodPost, "/api/v1/conversations/"+u.ConversationID()+"/messages", map[string]string{"text": "Hello from Ana"}, nil)
	u.Receives(t, "Hello from Ana")
	// Wrong bearer tokens.
	g.do(t, http.MethodGet, "/api/v1/queue", "not-a-token", nil, nil)
	g.do(t, http.MethodGet, "/api/v1/queue", g.Secrets["ana"]+"x", nil, nil)
	// The sends carried the access token; the log must not.
	if s, _ := g.Graph.Last(u.ID); s.Authorization != "Bearer "+g.Secrets[chClosed+".access"] {
		t.Errorf("send Authorization %q, want the channel's access token", s.Authorization)
	}
	g.Stop(t)

	logs := g.Stderr()
	if !strings.Contains(logs, `"level":"DEBUG"`) && !strings.Contains(logs, `"level":"INFO"`) {
		t.Fatalf("no logs captured:\n%s", logs)
	}
	for name, secret := range g.Secrets {
		if strings.Contains(logs, secret) {
			t.Errorf("stderr holds the secret %s", name)
		}
	}
}

// TestFirstRun is the README's first command: the example configuration
// on the embedded Redis. The start log names the console's address and a
// development sign-in, and both work.
func TestFirstRun(t *testing.T) {
	port := freePort(t)
	t.Setenv("LISTEN", net.JoinHostPort("127.0.0.1", port))
	// Signing in checks the example's bcrypt hash (cost 12): seconds
	// under the race detector on a busy machine.
	g := &Gateway{URL: "http://" + net.JoinHostPort("127.0.0.1", port), Config: "../config/example.yaml", http: &http.Client{Timeout: time.Minute}}
	if err := g.start(t); err != nil {
		t.Fatalf("the example did not start: %v\n%s", err, g.Stderr())
	}
	defer g.Stop(t)

	// The lines follow "gateway started", written as the server starts.
	var console, signIn []string
	eventually(t, "the start log names the console's address and a development sign-in", func() bool {
		console = regexp.MustCompile(`msg="agents' console" url=(\S+)`).FindStringSubmatch(g.Stderr())
		signIn = regexp.MustCompile(`msg="development sign-in" agent=(\S+) password=(\S+)`).FindStringSubmatch(g.Stderr())
		return console != nil && signIn != nil
	})
	if want := g.URL + "/console/"; console[1] != want {
		t.Errorf("console address %s, want %s", console[1], want)
	}
	resp, err := g.http.Get(console[1])
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("GET %s: %d %s, want the console's page", console[1], resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	body := []byte(`{"agent": "` + signIn[1] + `", "password": "` + signIn[2] + `"}`)
	if status, data := g.do(t, http.MethodPost, "/api/v1/session", "", nil, body); status != http.StatusOK && status != http.StatusCreated {
		t.Errorf("signing in as the start log says (%s): %d %s", signIn[1], status, data)
	}
}
