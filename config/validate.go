package config

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// validator checks a decoded Config with its defaults applied and reports
// each problem at the line of the offending value, or of its nearest
// written ancestor when the value is missing.
type validator struct {
	*problems
	lines map[string]int
	vars  map[string][]string
}

// idPattern is what channel and agent ids match: they become parts of
// Redis keys, hash tags and URLs.
var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// line returns the line of path, or of its nearest ancestor in the file.
func (v *validator) line(path string) int {
	for {
		if line, ok := v.lines[path]; ok {
			return line
		}
		if path == "" {
			return 0
		}
		path = path[:max(strings.LastIndexAny(path, ".["), 0)]
	}
}

// report adds a problem at path unless decoding already found one there.
func (v *validator) report(path, format string, args ...any) {
	if !v.at(path) {
		v.add(v.line(path), path, format, args...)
	}
}

// reportItem adds a problem with item i of the list of plain values at
// path, at the item's line.
func (v *validator) reportItem(path string, i int, format string, args ...any) {
	v.add(v.line(fmt.Sprintf("%s[%d]", path, i)), path, format, args...)
}

func (v *validator) config(c *Config) {
	v.listen(c.Listen)
	v.pprof(c.Debug.Pprof)
	within(v, "shutdown_timeout", c.ShutdownTimeout, shutdownBounds)
	if _, ok := logLevels[c.Log.Level]; !ok {
		v.report("log.level", "%q is not debug, info, warn or error", c.Log.Level)
	}
	if c.Log.Format != "json" && c.Log.Format != "text" {
		v.report("log.format", "%q is not json or text", c.Log.Format)
	}
	v.redis(c.Redis)
	v.tls(c.TLS)
	v.httpURL("meta.graph_url", c.Meta.GraphURL)
	within(v, "meta.rate_limit", c.Meta.RateLimit, rateLimitBounds)
	within(v, "meta.send_timeout", c.Meta.SendTimeout, timeoutBounds)
	within(v, "engine.workers", c.Engine.Workers, workersBounds)
	within(v, "engine.sweep_interval", c.Engine.SweepInterval, sweepBounds)
	within(v, "engine.dedupe_ttl", c.Engine.DedupeTTL, dedupeBounds)
	within(v, "engine.retry_base", c.Engine.RetryBase, retryBaseBounds)
	within(v, "engine.send_attempts", c.Engine.SendAttempts, attemptsBounds)
	within(v, "engine.max_backlog", c.Engine.MaxBacklog, backlogBounds)
	v.secret("admin_token", c.AdminToken)
	v.bot(&c.Bot)
	v.channels(c)
	v.privacy(c.Privacy)
	v.agents(c)
	v.inbox(c)
	v.people(c)
	if !c.Redis.Embedded() {
		v.production(c)
	}
}

// tls checks that the certificate and its key are both set or both not,
// and that they load.
func (v *validator) tls(t TLS) {
	switch {
	case t.CertFile == "" && t.KeyFile == "":
	case t.CertFile == "":
		v.report("tls.cert_file", "missing: tls.key_file is set, and a key needs its certificate")
	case t.KeyFile == "":
		v.report("tls.key_file", "missing: tls.cert_file is set, and a certificate needs its key")
	default:
		if _, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile); err != nil {
			v.report("tls.cert_file", "cannot load the certificate and key: %v", err)
		}
	}
}

func (v *validator) pprof(addr string) {
	if addr == "" {
		return
	}
	host, port, err := net.SplitHostPort(addr)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	ip := net.ParseIP(host)
	if err != nil || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
		v.report("debug.pprof", "%q is not a loopback host:port (such as 127.0.0.1:6060): profiles must not be public", addr)
	}
}

func (v *validator) listen(listen string) {
	_, port, err := net.SplitHostPort(listen)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	if err != nil {
		v.report("listen", "%q is not host:port (such as :8080 or 127.0.0.1:8080)", listen)
	}
}

func (v *validator) redis(r Redis) {
	var kinds []string
	if r.URL != "" {
		kinds = append(kinds, "redis.url")
	}
	if len(r.Cluster) > 0 {
		kinds = append(kinds, "redis.cluster")
	}
	if r.Sentinel.Master != "" || len(r.Sentinel.Addrs) > 0 {
		kinds = append(kinds, "redis.sentinel")
	}
	if len(kinds) > 1 {
		v.report(kinds[1], "set only one of redis.url, redis.cluster and redis.sentinel (%s is set too)", kinds[0])
	}
	switch r.Kind() {
	case "url":
		v.redisURL(r.URL)
		for _, path := range r.credentials() {
			v.report(path, "the URL carries its own credentials and TLS (rediss://): set it there, or use redis.cluster or redis.sentinel")
		}
	case "cluster":
		for i, addr := range r.Cluster {
			if !isHostPort(addr) {
				v.reportItem("redis.cluster", i, "%q is not host:port (such as 10.0.0.1:7000)", addr)
			}
		}
	case "sentinel":
		if r.Sentinel.Master == "" {
			v.report("redis.sentinel.master", "missing: the master's name in the Sentinels' configuration")
		}
		if len(r.Sentinel.Addrs) == 0 {
			v.report("redis.sentinel.addrs", "missing: at least one Sentinel's host:port")
		}
		for i, addr := range r.Sentinel.Addrs {
			if !isHostPort(addr) {
				v.reportItem("redis.sentinel.addrs", i, "%q is not host:port (such as 10.0.0.1:26379)", addr)
			}
		}
		if r.Sentinel.Username != "" && r.Sentinel.Password == "" {
			v.report("redis.sentinel.username", "needs redis.sentinel.password: the Sentinels take a user with its password")
		}
	default:
		for _, path := range r.credentials() {
			v.report(path, "set for no Redis: set redis.cluster or redis.sentinel too (or leave it out for the embedded Redis)")
		}
		if r.WaitReplicas > 0 {
			v.report("redis.wait_replicas", "the embedded Redis has no replicas: set redis.url, redis.cluster or redis.sentinel, or leave it at 0")
		}
	}
	if r.Kind() != "sentinel" {
		const why = "set for no Sentinel set: it authenticates to the Sentinels of redis.sentinel.addrs"
		if r.Sentinel.Username != "" {
			v.report("redis.sentinel.username", why)
		}
		if r.Sentinel.Password != "" {
			v.report("redis.sentinel.password", why)
		}
	}
	if strings.ContainsAny(r.Prefix, "{}") {
		v.report("redis.prefix", "%q may not contain { or }: keys use them as cluster hash tags", r.Prefix)
	}
	within(v, "redis.wait_replicas", r.WaitReplicas, replicasBounds)
	within(v, "redis.wait_timeout", r.WaitTimeout, waitBounds)
}

// credentials lists the paths of the credentials and TLS setting that are
// set, which only a cluster or a Sentinel set uses.
func (r Redis) credentials() []string {
	var paths []string
	if r.Username != "" {
		paths = append(paths, "redis.username")
	}
	if r.Password != "" {
		paths = append(paths, "redis.password")
	}
	if r.TLS {
		paths = append(paths, "redis.tls")
	}
	return paths
}

func (v *validator) redisURL(s Secret) {
	u, err := url.Parse(s.Reveal())
	switch {
	case err != nil:
		// url.Parse's error quotes the URL, which may hold a password.
		v.report("redis.url", "not a valid URL")
	case u.Scheme != "redis" && u.Scheme != "rediss":
		v.report("redis.url", "%q is not a redis:// or rediss:// URL", u.Redacted())
	default:
		v.redisDatabase(u)
	}
}

// isHostPort reports whether addr is host:port with a non-empty host and a
// port from 1 to 65535.
func isHostPort(addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	n, err := strconv.ParseUint(port, 10, 16)
	return err == nil && n > 0
}

// redisDatabase checks the database number, the URL's path: none, / or
// /N with N a number from 0 up.
func (v *validator) redisDatabase(u *url.URL) {
	db := strings.TrimPrefix(u.Path, "/")
	if db == "" {
		return
	}
	if _, err := strconv.Atoi(db); err != nil || !isDigits(db) { // Atoi takes signs
		v.report("redis.url", "the path is the database number: /0 or another number from 0 up, not %q", u.Path)
	}
}

func isDigits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func (v *validator) httpURL(path, s string) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.report(path, "%q is not an http:// or https:// URL", s)
	}
}

// secret reports a missing secret and, when its value came from
// environment variables, names them. It never prints the value.
func (v *validator) secret(path string, s Secret) {
	if s != "" {
		return
	}
	switch vars := v.vars[path]; len(vars) {
	case 0:
		v.report(path, "missing secret")
	case 1:
		v.report(path, "missing secret: ${%s} is unset or empty", vars[0])
	default:
		v.report(path, "missing secret: ${%s} are unset or empty", strings.Join(vars, "}, ${"))
	}
}

// id checks a channel or agent id; seen maps the ids met so far to their
// paths.
func (v *validator) id(path, id, what string, seen map[string]string) {
	switch {
	case id == "":
		v.report(path, "missing")
		return
	case !idPattern.MatchString(id):
		v.report(path, "%q is not a valid %s id: use a-z, 0-9, _ and -, starting with a letter or digit", id, what)
	}
	if first, dup := seen[id]; dup {
		v.report(path, "duplicate %s id %q (first at line %d)", what, id, v.line(first))
		return
	}
	seen[id] = path
}

func (v *validator) bot(b *Bot) {
	switch b.Type {
	case BotKeywords:
	case BotHTTP:
		if b.URL == "" {
			v.report("bot.url", "missing: an http bot needs it")
		} else {
			v.httpURL("bot.url", b.URL)
		}
		v.secret("bot.secret", b.Secret)
	default:
		v.report("bot.type", "%q is not keywords or http", b.Type)
	}
	within(v, "bot.timeout", b.Timeout, timeoutBounds)
	for i, a := range b.Answers {
		path := fmt.Sprintf("bot.answers[%d]", i)
		if len(a.Keywords) == 0 {
			v.report(path+".keywords", "missing")
		}
		if a.Text == "" {
			v.report(path+".text", "missing")
		}
	}
}

func (v *validator) channels(c *Config) {
	if len(c.Channels) == 0 {
		v.report("channels", "no channel configured")
	}
	ids := make(map[string]string)
	platformIDs := make(map[string]string) // type and platform id -> path
	for i := range c.Channels {
		ch := &c.Channels[i]
		path := fmt.Sprintf("channels[%d]", i)
		v.id(path+".id", ch.ID, "channel", ids)
		v.accountID(ch, path, platformIDs)
		v.secret(path+".app_secret", ch.AppSecret)
		v.secret(path+".verify_token", ch.VerifyToken)
		v.secret(path+".access_token", ch.AccessToken)
		if ch.GraphURL != c.Meta.GraphURL {
			v.httpURL(path+".graph_url", ch.GraphURL)
		}
		within(v, path+".rate_limit", ch.RateLimit, rateLimitBounds)
		if ch.HumanAgentTag && ch.Type == WhatsApp {
			v.report(path+".human_agent_tag", "only messenger and instagram channels have it")
		}
		if ch.Hours != nil {
			v.hours(ch.Hours, path+".hours")
		}
		v.derivation(ch, path+".derivation")
		if ch.Notify != nil {
			v.notify(ch.Notify, path+".notify")
		}
		v.reach(ch, path)
		v.loop(ch, path)
		v.window(ch, path)
	}
}

// accountID checks that the channel has its type's account id, and only
// that one, and that no other channel of its type has the same.
func (v *validator) accountID(ch *Channel, path string, seen map[string]string) {
	switch {
	case ch.Type == "":
		v.report(path+".type", "missing: whatsapp, messenger or instagram")
		return
	case !ch.Type.asynchronous():
		v.report(path+".type", "unknown channel type %q (want whatsapp, messenger or instagram)", ch.Type)
		return
	}
	var key string
	for _, k := range accountKeys {
		switch {
		case k.typ == ch.Type:
			key = k.key
		case k.value(ch) != "":
			v.report(path+"."+k.key, "a %s channel has no %s", ch.Type, k.key)
		}
	}
	keyPath, id := path+"."+key, ch.PlatformID()
	if id == "" {
		v.report(keyPath, "missing: a %s channel needs it", ch.Type)
		return
	}
	if first, dup := seen[string(ch.Type)+" "+id]; dup {
		v.report(keyPath, "duplicate %s %q (first at line %d)", key, id, v.line(first))
		return
	}
	seen[string(ch.Type)+" "+id] = keyPath
}

func (v *validator) derivation(ch *Channel, path string) {
	d := &ch.Derivation
	if d.Target != TargetLive {
		v.report(path+".target", "unknown target %q (want live)", d.Target)
	}
	switch d.AfterHours {
	case AfterHoursAsk:
		if d.Target != TargetLive || !ch.Type.asynchronous() {
			v.report(path+".after_hours", "ask (offer to wait) is allowed only with target live on an asynchronous channel (whatsapp, messenger, instagram); use reject")
		}
	case AfterHoursReject:
	default:
		v.report(path+".after_hours", "%q is not ask or reject", d.AfterHours)
	}
	within(v, path+".inactivity_timeout", d.InactivityTimeout, inactivityBounds)
	if d.AckInterval != 0 { // 0: once per waiting period
		within(v, path+".ack_interval", d.AckInterval, ackBounds)
	}
}

func (v *validator) agents(c *Config) {
	ids := make(map[string]string)
	tokens := make(map[Secret]string) // token -> path of its first agent
	for i, a := range c.Agents {
		path := fmt.Sprintf("agents[%d]", i)
		v.id(path+".id", a.ID, "agent", ids)
		v.secret(path+".token", a.Token)
		if a.Token != "" {
			if first, dup := tokens[a.Token]; dup {
				v.report(path+".token", "same token as %s", first)
			} else {
				tokens[a.Token] = path
			}
		}
		if len(a.Channels) == 0 {
			v.report(path+".channels", "missing: list the ids of the channels the agent serves")
		}
		for k, id := range a.Channels {
			if _, ok := c.Channel(id); !ok {
				v.reportItem(path+".channels", k, "unknown channel %q", id)
			}
		}
		within(v, path+".max_conversations", a.MaxConversations, maxConversationsBounds)
	}
}

func splitHostPort(addr string) (string, string, error) { return net.SplitHostPort(addr) }

// validAddress reports whether s is one bare email address (no display name).
func validAddress(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s
}
