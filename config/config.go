// Package config loads the gateway's YAML configuration (README.md,
// Configuration):
// the schema with its defaults, ${VAR} and ${VAR:-default} expansion from an
// injected environment, and validation that reports every problem at once,
// each with its file and line.
//
// config is the only package of the module that reads the environment, and
// only through the getenv function its caller passes. Of this module it
// imports only routing: the configuration decodes into routing's types
// (ranges, dates, messages) and validation builds each channel's calendar,
// so what passes here is what the gateway decides with.
package config

import (
	"log/slog"
	"net/url"
	"strings"
	"time"

	"switchboard/routing"
)

// Config is the whole configuration. A zero field means its default; Load
// and Parse fill every default in, so callers read final values.
type Config struct {
	// Listen is the HTTP server's host:port. Default ":8080".
	Listen string `yaml:"listen"`
	// TLS, when set, makes the gateway serve HTTPS itself on Listen.
	TLS TLS `yaml:"tls"`
	// ShutdownTimeout bounds a graceful shutdown. Default 10s; 1s to 1h.
	//
	// Every duration and count has bounds (bounds.go); a value outside is
	// a problem naming the bound.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	Log             Log           `yaml:"log"`
	Redis           Redis         `yaml:"redis"`
	Meta            Meta          `yaml:"meta"`
	Engine          Engine        `yaml:"engine"`
	// Agents are the human agents and the channels each one serves.
	Agents []Agent `yaml:"agents"`
	// Sessions are the console's sign-in sessions (people.go).
	Sessions Sessions `yaml:"sessions"`
	// AdminToken authenticates the admin API (Authorization: Bearer). Required.
	AdminToken Secret `yaml:"admin_token"`
	Bot        Bot    `yaml:"bot"`
	// Channels are the accounts the gateway serves; at least one.
	Channels []Channel `yaml:"channels"`
	Debug    Debug     `yaml:"debug"`
	// Labels are the labels agents may put on conversations (config/inbox.go).
	Labels          []string         `yaml:"labels"`
	CannedResponses []CannedResponse `yaml:"canned_responses"`
	Retention       Retention        `yaml:"retention"`
	// Privacy holds the data-protection settings (loop.go).
	Privacy Privacy `yaml:"privacy"`
}

// TLS is the server's certificate: both files or neither (then plain HTTP,
// such as behind a reverse proxy that terminates TLS).
type TLS struct {
	// CertFile is a PEM certificate chain, the server's first.
	CertFile string `yaml:"cert_file"`
	// KeyFile is its PEM private key.
	KeyFile string `yaml:"key_file"`
}

// Debug holds diagnostics that are off by default.
type Debug struct {
	// Pprof, when set, serves net/http/pprof on this loopback host:port
	// (e.g. 127.0.0.1:6060), apart from the public listener. Empty: off.
	Pprof string `yaml:"pprof"`
}

// Log configures the gateway's logger.
type Log struct {
	// Level is debug, info, warn or error. Default info.
	Level string `yaml:"level"`
	// Format is json or text. Default json.
	Format string `yaml:"format"`
}

// SlogLevel returns Level as a slog.Level.
func (l Log) SlogLevel() slog.Level {
	return logLevels[l.Level]
}

var logLevels = map[string]slog.Level{
	"debug": slog.LevelDebug,
	"info":  slog.LevelInfo,
	"warn":  slog.LevelWarn,
	"error": slog.LevelError,
}

// Redis says where conversations, waiting lines and tasks live: one server
// (URL), a Redis Cluster (Cluster) or a master watched by Sentinels
// (Sentinel), at most one of them. None of them (the default) starts an
// embedded in-memory Redis for development: nothing survives a restart.
type Redis struct {
	// URL is a redis:// or rediss:// URL. It is a Secret because it may
	// carry a password.
	URL Secret `yaml:"url"`
	// Cluster lists host:port seed nodes of a Redis Cluster.
	Cluster []string `yaml:"cluster"`
	// Sentinel names the master and the Sentinels that watch it.
	Sentinel Sentinel `yaml:"sentinel"`
	// Username and Password authenticate to the cluster's nodes or to the
	// Sentinel set's master and replicas (a URL carries its own).
	Username string `yaml:"username"`
	Password Secret `yaml:"password"`
	// TLS connects to the cluster or Sentinel set over TLS (a URL says so
	// with rediss://).
	TLS bool `yaml:"tls"`
	// Prefix starts every key and names the task queues ("acme:inbound";
	// the default keeps "inbound"). Default "gw:". It may not contain { or },
	// which the keys use as cluster hash tags.
	Prefix string `yaml:"prefix"`
	// WaitReplicas, when above 0, makes a webhook wait until its inbox
	// write reached this many replicas (WAIT) before it is answered 200,
	// so that a failover cannot lose an accepted message; when they do not
	// acknowledge within WaitTimeout the webhook is answered 503 and Meta
	// delivers it again. Default 0; 0 to 16.
	WaitReplicas int `yaml:"wait_replicas"`
	// WaitTimeout bounds that wait. Default 1s; 10ms to 10s.
	WaitTimeout time.Duration `yaml:"wait_timeout"`
}

// Sentinel locates a master through Sentinels.
type Sentinel struct {
	// Master is the master's name in the Sentinels' configuration.
	Master string `yaml:"master"`
	// Addrs lists the Sentinels' host:port.
	Addrs []string `yaml:"addrs"`
	// Username and Password authenticate to the Sentinels themselves
	// (their requirepass, or an ACL user of theirs); redis.username and
	// redis.password are the master's and replicas'. Username needs
	// Password.
	Username string `yaml:"username"`
	Password Secret `yaml:"password"`
}

// Kind names the Redis set up: "url", "cluster", "sentinel" or "embedded".
// With more than one set (a problem validation reports) it is the first of
// url, cluster, sentinel.
func (r Redis) Kind() string {
	switch {
	case r.URL != "":
		return "url"
	case len(r.Cluster) > 0:
		return "cluster"
	case r.Sentinel.Master != "" || len(r.Sentinel.Addrs) > 0:
		return "sentinel"
	}
	return "embedded"
}

// Embedded reports whether the gateway should run its own in-memory Redis.
func (r Redis) Embedded() bool { return r.Kind() == "embedded" }

// Meta configures the calls to Meta's Graph API shared by every channel.
type Meta struct {
	// GraphURL is the Graph API's base URL, version included. Default
	// https://graph.facebook.com/v24.0; tests point it at a local fake.
	GraphURL string `yaml:"graph_url"`
	// RateLimit is the most messages per second sent from one phone number,
	// page or account. Default 80.
	RateLimit int `yaml:"rate_limit"`
	// SendTimeout bounds one send request. Default 10s.
	SendTimeout time.Duration `yaml:"send_timeout"`
}

// Engine configures the processing of events and the periodic jobs.
type Engine struct {
	// Workers is how many tasks run at once (asynq concurrency). Default
	// 20; 1 to 1024.
	Workers int `yaml:"workers"`
	// SweepInterval is how often the inactivity sweep runs. Default 1m; 1s
	// to 24h.
	SweepInterval time.Duration `yaml:"sweep_interval"`
	// DedupeTTL is how long an event id is remembered to drop Meta's
	// redeliveries: a Redis expiry. Default 48h; 1s to 30 days.
	DedupeTTL time.Duration `yaml:"dedupe_ttl"`
	// RetryBase is the delay before a failed send is tried again; it
	// doubles with each attempt (a platform's own advice, such as the pair
	// rate limit's, is the floor). Default 1s.
	RetryBase time.Duration `yaml:"retry_base"`
	// SendAttempts bounds the tries of one send before it is marked failed.
	// Default 10.
	SendAttempts int `yaml:"send_attempts"`
	// MaxBacklog bounds the conversations whose accepted events wait to be
	// processed, across channels: above it webhooks get 503 and Meta
	// delivers them again later, so a gateway that cannot keep up does not
	// fill Redis. Default 50,000; 100 to 10,000,000.
	MaxBacklog int `yaml:"max_backlog"`
}

// Agent is a human agent.
type Agent struct {
	// ID identifies the agent in the API and in stored conversations; it
	// matches [a-z0-9][a-z0-9_-]*. Required, unique.
	ID string `yaml:"id"`
	// Name may be shown to users ("You are now talking with Ana"). Default: ID.
	Name string `yaml:"name"`
	// Token authenticates the agent (Authorization: Bearer). Required, unique.
	Token Secret `yaml:"token"`
	// Channels are the ids of the channels whose conversations the agent
	// sees and takes. At least one.
	Channels []string `yaml:"channels"`
	// MaxConversations is how many conversations the agent holds at once
	// under automatic assignment. Default 5.
	MaxConversations int `yaml:"max_conversations"`
	// Role is agent (the default) or supervisor (people.go).
	Role Role `yaml:"role"`
	// PasswordHash is the bcrypt hash of the agent's console password
	// (`gateway passwd` makes one); empty: no console sign-in.
	PasswordHash Secret `yaml:"password_hash"`
}

// Serves reports whether the agent works on channel id.
func (a *Agent) Serves(channelID string) bool {
	for _, id := range a.Channels {
		if id == channelID {
			return true
		}
	}
	return false
}

// BotType names a kind of virtual assistant.
type BotType string

// Bot types.
const (
	BotKeywords BotType = "keywords" // built in: answers by keyword
	BotHTTP     BotType = "http"     // a connected bot called over HTTP
)

// Bot configures the virtual assistant that holds conversations before and
// between agents.
type Bot struct {
	// Type is keywords (the default) or http.
	Type BotType `yaml:"type"`
	// URL is the http bot's endpoint. Required for an http bot.
	URL string `yaml:"url"`
	// Secret signs the requests to an http bot. Required for an http bot.
	Secret Secret `yaml:"secret"`
	// Timeout bounds one call to an http bot. Default 5s.
	Timeout time.Duration `yaml:"timeout"`
	// HandoffKeywords are words that refer the user to a human, whatever the
	// bot. Default: agent, human.
	HandoffKeywords []string `yaml:"handoff_keywords"`
	// Greeting starts a keywords bot session.
	Greeting string `yaml:"greeting"`
	// Fallback answers what no keyword matches, and replaces the reply of
	// an http bot that failed.
	Fallback string `yaml:"fallback"`
	// Answers are a keywords bot's replies.
	Answers []Answer `yaml:"answers"`
}

// Answer is a keywords bot's reply to any of its keywords.
type Answer struct {
	Keywords []string `yaml:"keywords"`
	Text     string   `yaml:"text"`
}

// ChannelType is the messaging platform of a channel. Its values are the
// platform names of the webhook routes.
type ChannelType string

// Channel types.
const (
	WhatsApp  ChannelType = "whatsapp"
	Messenger ChannelType = "messenger"
	Instagram ChannelType = "instagram"
)

// accountKey names, for a channel type, the key of its account id.
type accountKey struct {
	typ   ChannelType
	key   string
	value func(*Channel) string
}

var accountKeys = []accountKey{
	{WhatsApp, "phone_number_id", func(c *Channel) string { return c.PhoneNumberID }},
	{Messenger, "page_id", func(c *Channel) string { return c.PageID }},
	{Instagram, "account_id", func(c *Channel) string { return c.AccountID }},
}

// asynchronous reports whether users of the channel type may get an answer
// hours later, which the after_hours: ask mode relies on. All of Meta's
// platforms are; a voice or web-chat channel would not be. An unknown type
// is not.
func (t ChannelType) asynchronous() bool {
	for _, k := range accountKeys {
		if k.typ == t {
			return true
		}
	}
	return false
}

// Channel is one account on one platform: a WhatsApp phone number, a
// Facebook page or an Instagram professional account.
type Channel struct {
	// ID names the channel in the API, the agents' lists and Redis keys; it
	// matches [a-z0-9][a-z0-9_-]*. Required, unique.
	ID string `yaml:"id"`
	// Type is whatsapp, messenger or instagram. Required.
	Type ChannelType `yaml:"type"`
	// PhoneNumberID is a whatsapp channel's phone number id. PageID is a
	// messenger channel's page id. AccountID is an instagram channel's
	// account id. A channel has exactly the one of its type; see PlatformID.
	PhoneNumberID string `yaml:"phone_number_id"`
	PageID        string `yaml:"page_id"`
	AccountID     string `yaml:"account_id"`
	// AppSecret checks the X-Hub-Signature-256 of webhooks. Required.
	AppSecret Secret `yaml:"app_secret"`
	// VerifyToken answers Meta's webhook verification handshake. Required.
	VerifyToken Secret `yaml:"verify_token"`
	// AccessToken authorizes sends through the Graph API. Required.
	AccessToken Secret `yaml:"access_token"`
	// GraphURL overrides meta.graph_url for this channel. Default: meta's.
	GraphURL string `yaml:"graph_url"`
	// RateLimit overrides meta.rate_limit for this channel. Default: meta's.
	RateLimit int `yaml:"rate_limit"`
	// HumanAgentTag lets agents of a messenger or instagram channel reply
	// up to 7 days after the user's last message (the HUMAN_AGENT tag)
	// instead of 24 hours.
	HumanAgentTag bool `yaml:"human_agent_tag"`
	// Hours are the business hours; nil (no hours key) means always open.
	Hours *Hours `yaml:"hours"`
	// Derivation says what a referral to a human does.
	Derivation Derivation `yaml:"derivation"`
	// Consent, when set, is sent once at the start of a conversation,
	// before any other message: the notice that covers collecting the
	// user's contact data.
	Consent string `yaml:"consent"`
	// Notify sends escalation notifications; nil (no notify key) sends none.
	Notify *Notify `yaml:"notify"`
	// Assignment is manual (the default: agents claim) or auto (reach.go).
	Assignment Assignment `yaml:"assignment"`
	// DisplayName, when set, is the user's name in the agent API: a
	// template over the conversation's variables, such as
	// "{{first_name}} ({{company}})". A variable missing shows the
	// platform's name instead.
	DisplayName string `yaml:"display_name"`
	// Language is the language of the channel's users: en (default), es,
	// pt or fr; "{opens}" names the day in it (window.go).
	Language string `yaml:"language"`
	// Templates are the WhatsApp templates agents may send to re-engage a
	// user outside the messaging window (window.go).
	Templates []Template `yaml:"templates"`
}

// PlatformID returns the id the platform uses for the channel's account:
// PhoneNumberID, PageID or AccountID, by Type.
func (c *Channel) PlatformID() string {
	for _, k := range accountKeys {
		if k.typ == c.Type {
			return k.value(c)
		}
	}
	return ""
}

// Target is where a referral sends the user.
type Target string

// Targets.
const (
	TargetLive Target = "live" // the waiting line and the agents
)

// AfterHours is what a referral outside business hours does: ask (offer
// to wait, the asynchronous mode) or reject (the off-hours message; the
// bot continues).
type AfterHours = routing.AfterHours

// After-hours modes.
const (
	AfterHoursAsk    = routing.AfterHoursAsk
	AfterHoursReject = routing.AfterHoursReject
)

// Derivation is a channel's referral rules (README.md, How a conversation
// is routed).
type Derivation struct {
	// Target is live (the default).
	Target Target `yaml:"target"`
	// AfterHours is ask (the default) or reject. ask is allowed only with
	// target live on an asynchronous channel.
	AfterHours AfterHours `yaml:"after_hours"`
	// Direct: while waiting the user cannot talk to the bot; messages are
	// kept for the agent.
	Direct bool `yaml:"direct"`
	// InactivityTimeout closes a conversation with no activity, user's or
	// agent's, for that long. Default 24h.
	InactivityTimeout time.Duration `yaml:"inactivity_timeout"`
	// AckInterval bounds how often a direct-mode waiting user is told a
	// message was kept; 0 (the default) means once per waiting period.
	AckInterval time.Duration `yaml:"ack_interval"`
	// YesWords and NoWords answer the offer to wait by text, for platforms
	// or clients without buttons. Defaults: yes, y, ok, wait / no, n.
	YesWords []string `yaml:"yes_words"`
	NoWords  []string `yaml:"no_words"`
	// Messages are the texts the gateway sends; an empty one gets its
	// English default.
	Messages Messages `yaml:"messages"`
	// Call offers a phone call besides the chat on a referral (reach.go);
	// nil (no call key) offers none.
	Call *Call `yaml:"call"`
	// CancelKeywords let a waiting user leave the line and talk to the bot
	// again (messages left_line, back_to_bot). Empty: none.
	CancelKeywords []string `yaml:"cancel_keywords"`
	// ReopenAfterClose: a user message this soon after an agent closed the
	// conversation returns it to that agent when online and under
	// capacity, else to the line. 0 (the default): never; 1s to 24h.
	ReopenAfterClose time.Duration `yaml:"reopen_after_close"`
	// CSAT asks for satisfaction after an agent closes (loop.go); nil
	// asks nothing.
	CSAT *CSAT `yaml:"csat"`
	// NoAgentOnline is what a referral inside business hours does with no
	// agent of the channel online: wait (default), ask or reject (window.go).
	NoAgentOnline routing.NoAgentOnline `yaml:"no_agent_online"`
	// FollowUpKeep is how long a user who expired while waiting stays in
	// the channel's missed list. Default 7d.
	FollowUpKeep time.Duration `yaml:"follow_up_keep"`
}

// Messages are a channel's texts to users (derivation.messages), decoded
// into the type routing decides with.
type Messages = routing.Messages

// Channel returns the channel with the given id.
func (c *Config) Channel(id string) (*Channel, bool) {
	for i := range c.Channels {
		if c.Channels[i].ID == id {
			return &c.Channels[i], true
		}
	}
	return nil, false
}

// ChannelByPlatformID returns the channel of type t whose account has the
// platform's id (a webhook entry's phone number id, page id or account id).
func (c *Config) ChannelByPlatformID(t ChannelType, platformID string) (*Channel, bool) {
	for i := range c.Channels {
		if ch := &c.Channels[i]; ch.Type == t && ch.PlatformID() == platformID {
			return ch, true
		}
	}
	return nil, false
}

// ChannelsOfType returns the channels of type t, in configuration order.
func (c *Config) ChannelsOfType(t ChannelType) []*Channel {
	var list []*Channel
	for i := range c.Channels {
		if c.Channels[i].Type == t {
			list = append(list, &c.Channels[i])
		}
	}
	return list
}

// Agent returns the agent with the given id.
func (c *Config) Agent(id string) (*Agent, bool) {
	for i := range c.Agents {
		if c.Agents[i].ID == id {
			return &c.Agents[i], true
		}
	}
	return nil, false
}

// LogValue summarizes the configuration for a startup log line, without
// secrets: listen address, Redis (embedded, its URL with the password
// hidden, or the cluster's or Sentinels' addresses), bot type, channels and agents.
func (c *Config) LogValue() slog.Value {
	var redis string
	switch c.Redis.Kind() {
	case "url":
		redis = redacted
		if u, err := url.Parse(c.Redis.URL.Reveal()); err == nil {
			redis = u.Redacted()
		}
	case "cluster":
		redis = "cluster " + strings.Join(c.Redis.Cluster, ",")
	case "sentinel":
		redis = "sentinel " + c.Redis.Sentinel.Master + "@" + strings.Join(c.Redis.Sentinel.Addrs, ",")
	default:
		redis = "embedded"
	}
	channels := make([]string, len(c.Channels))
	for i, ch := range c.Channels {
		channels[i] = ch.ID + " (" + string(ch.Type) + ")"
	}
	agents := make([]string, len(c.Agents))
	for i, a := range c.Agents {
		agents[i] = a.ID
	}
	return slog.GroupValue(
		slog.String("listen", c.Listen),
		slog.String("redis", redis),
		slog.String("bot", string(c.Bot.Type)),
		slog.Any("channels", channels),
		slog.Any("agents", agents),
	)
}
