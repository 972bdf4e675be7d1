package loadtest

import (
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"

	"switchboard/config"
)

// ConfigOptions shape the gateway configuration WriteConfig writes.
type ConfigOptions struct {
	RedisURL string // required: redis://127.0.0.1:6379/0
	Listen   string // the gateway's address; default 127.0.0.1:8080
	Graph    string // the fake Graph API's address; default 127.0.0.1:9911
	Workers  int    // engine.workers; default 64
	Agents   int    // agents, each serving every channel; default 100
	Prefix   string // redis.prefix; default "gw:"
}

// The generated configuration's fixed names. The account ids are those of
// docs/meta.md's examples; the secrets are for loopback tests only.
const (
	agentTokenFormat = "lt-agent-token-%03d"
	agentIDFormat    = "lt-agent-%03d"
)

// WriteConfig writes a gateway configuration made for load tests: three
// always-open channels (one per platform) whose Graph URL is the fake
// Graph's, a send rate limit no load reaches, a short sweep interval (so a
// killed gateway's orphaned work is picked up quickly) and o.Agents agents
// serving all three channels with room for every conversation.
func WriteConfig(w io.Writer, o ConfigOptions) error {
	if o.RedisURL == "" {
		return fmt.Errorf("a redis URL is required")
	}
	if o.Listen == "" {
		o.Listen = "127.0.0.1:8080"
	}
	if o.Graph == "" {
		o.Graph = "127.0.0.1:9911"
	}
	if o.Workers <= 0 {
		o.Workers = 64
	}
	if o.Agents <= 0 {
		o.Agents = 100
	}
	if o.Prefix == "" {
		o.Prefix = "gw:"
	}
	for _, a := range []string{o.Listen, o.Graph, hostOfURL(o.RedisURL)} {
		if err := checkLoopback(a); err != nil {
			return err
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `# Written by "loadtest config": a gateway configuration for load and
# fault tests on loopback. Do not use it for anything else.
listen: %q
shutdown_timeout: 10s
log:
  level: warn
  format: json
redis:
  url: %q
  prefix: %q
meta:
  graph_url: "http://%s/v24.0"   # the load tool's fake Graph API
  rate_limit: 1000000             # no limit the load reaches
  send_timeout: 5s
engine:
  workers: %d
  sweep_interval: 5s
  dedupe_ttl: 48h
admin_token: lt-admin-token-0123456789
labels: [billing, sales, vip]
bot:
  type: keywords
  handoff_keywords: [agent]
agents:
`, o.Listen, o.RedisURL, o.Prefix, o.Graph, o.Workers)
	for i := range o.Agents {
		fmt.Fprintf(&b, "  - {id: %s, token: %s, channels: [lt-wa, lt-fb, lt-ig], max_conversations: 1000000}\n",
			fmt.Sprintf(agentIDFormat, i), fmt.Sprintf(agentTokenFormat, i))
	}
	b.WriteString(`channels:
  # No hours: always open, so "agent" puts the user in the line at once.
`)
	for _, ch := range testChannels {
		fmt.Fprintf(&b, "  - id: %s\n    type: %s\n    %s: %q\n    app_secret: %s\n    verify_token: %s-verify-token-0123\n    access_token: %s-access-token-0123\n",
			ch.id, ch.typ, ch.accountKey, ch.account, ch.secret, ch.id, ch.id)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

var testChannels = []struct{ id, typ, accountKey, account, secret string }{
	{"lt-wa", "whatsapp", "phone_number_id", "106540352242922", "lt-wa-app-secret"},
	{"lt-fb", "messenger", "page_id", "110000000000001", "lt-fb-app-secret"},
	{"lt-ig", "instagram", "account_id", "17841400000000001", "lt-ig-app-secret"},
}

// Target is what the tool needs to know of a gateway configuration.
type Target struct {
	Config   *config.Config
	Channels []Channel // one per platform at most: the first of each type
	Graph    string    // host:port the fake Graph API must listen on
	Listen   string    // host:port of the gateway
	Agents   []string  // agent tokens
}

// Channel is a channel the tool sends to.
type Channel struct {
	ID, Platform, Account, Secret string
}

// LoadTarget reads a gateway configuration the way the gateway does and
// checks that every address in it is a loopback one.
func LoadTarget(path string) (*Target, error) {
	cfg, err := config.Load(path, os.Getenv)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(cfg.Meta.GraphURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("meta.graph_url %q: not a URL", cfg.Meta.GraphURL)
	}
	t := &Target{Config: cfg, Graph: u.Host, Listen: cfg.Listen}
	if strings.HasPrefix(t.Listen, ":") {
		t.Listen = "127.0.0.1" + t.Listen
	}
	for _, a := range []string{t.Graph, t.Listen} {
		if err := checkLoopback(a); err != nil {
			return nil, err
		}
	}
	if cfg.Redis.URL != "" {
		if err := checkLoopback(hostOfURL(cfg.Redis.URL.Reveal())); err != nil {
			return nil, fmt.Errorf("redis.url: %w", err)
		}
	}
	seen := map[config.ChannelType]bool{}
	for _, ch := range cfg.Channels {
		if seen[ch.Type] || (ch.GraphURL != "" && ch.GraphURL != cfg.Meta.GraphURL) {
			continue
		}
		seen[ch.Type] = true
		t.Channels = append(t.Channels, Channel{ID: ch.ID, Platform: string(ch.Type), Account: ch.PlatformID(), Secret: ch.AppSecret.Reveal()})
	}
	if len(t.Channels) == 0 {
		return nil, fmt.Errorf("%s: no channel uses meta.graph_url", path)
	}
	for _, a := range cfg.Agents {
		t.Agents = append(t.Agents, a.Token.Reveal())
	}
	return t, nil
}

func hostOfURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	return u.Host
}

// checkLoopback refuses any address that is not on the loopback interface:
// the tool never sends load anywhere else.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%q is not a loopback address; the load tool only targets loopback", addr)
}

// CheckLoopbackURL is checkLoopback for a URL such as http://127.0.0.1:8080.
func CheckLoopbackURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not a URL", s)
	}
	return checkLoopback(u.Host)
}
