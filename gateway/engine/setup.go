package engine

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"net/url"
	"slices"
	"time"

	"switchboard/bots"
	"switchboard/channels"
	"switchboard/config"
)

// setup is the runtime form of one configuration: channels, agents, the
// bot and its texts. It is never changed once built: a reload swaps in a
// new one, and every operation loads it once and passes it down, so an
// operation sees one configuration, never a mix.
type setup struct {
	channels  map[string]*channel
	byAccount map[channels.Platform]map[string]*channel
	agents    map[string]*Agent
	byToken   map[tokenDigest]*Agent         // agents by their bearer token's digest
	secrets   map[channels.Platform][]string // app secrets per platform, for signatures
	// accounts is what each platform's webhooks need, built once.
	accounts  map[channels.Platform]Accounts
	fallback  string
	dedupeTTL time.Duration
	// cfg is the configuration this setup was built from; botName is what
	// session records call its bot.
	cfg     *config.Config
	bot     bots.Bot
	botName string
	// dummyHash is what a sign-in of an unknown agent is checked against
	// (people.go); nil when no agent has a password.
	dummyHash []byte
}

// Agent is a configured agent.
type Agent struct {
	ID, Name         string
	Channels         []string
	MaxConversations int
	Role             config.Role
	// passwordHash is the bcrypt hash of the console password ("" for
	// none); fingerprint digests the agent's configuration (people.go).
	passwordHash, fingerprint string
}

// Serves reports whether the agent serves a channel.
func (a Agent) Serves(channelID string) bool { return slices.Contains(a.Channels, channelID) }

// graphTransport is the transport of the calls to the Graph API: the
// default one, keeping as many idle connections to its host as workers may
// send at once. The default keeps two per host, and every channel's calls
// go to one host, so under load most sends dialled (and closed) a
// connection of their own.
func graphTransport(workers int) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = max(workers, 16) + 16 // the in-process workers and the task workers' sends
	t.MaxIdleConns = max(t.MaxIdleConns, t.MaxIdleConnsPerHost)
	return t
}

// newSetup builds the runtime form of the configuration, with its bot
// (bot when not nil, else the configured one). now is the bot's clock (an
// http bot signs its requests with it).
func newSetup(cfg *config.Config, bot bots.Bot, now func() time.Time) (*setup, error) {
	client := &http.Client{Timeout: cfg.Meta.SendTimeout, Transport: graphTransport(cfg.Engine.Workers)}
	s := &setup{
		channels:  map[string]*channel{},
		byAccount: map[channels.Platform]map[string]*channel{},
		agents:    map[string]*Agent{},
		byToken:   map[tokenDigest]*Agent{},
		secrets:   map[channels.Platform][]string{},
		fallback:  cfg.Bot.Fallback,
		dedupeTTL: cfg.Engine.DedupeTTL,
		cfg:       cfg,
		botName:   botName(cfg.Bot),
	}
	for i := range cfg.Channels {
		ch, err := newChannel(cfg, &cfg.Channels[i], client, cfg.Bot.HandoffKeywords)
		if err != nil {
			return nil, err
		}
		s.channels[ch.id] = ch
		if s.byAccount[ch.platform] == nil {
			s.byAccount[ch.platform] = map[string]*channel{}
		}
		s.byAccount[ch.platform][ch.account] = ch
		s.secrets[ch.platform] = append(s.secrets[ch.platform], ch.cfg.AppSecret.Reveal())
	}
	for _, ac := range cfg.Agents {
		a := &Agent{ID: ac.ID, Name: ac.Name, Channels: ac.Channels, MaxConversations: ac.MaxConversations,
			Role: ac.Role, passwordHash: ac.PasswordHash.Reveal(), fingerprint: fingerprint(ac)}
		s.agents[ac.ID] = a
		s.byToken[sha256.Sum256([]byte(ac.Token.Reveal()))] = a
	}
	s.dummyHash = dummyHashFor(cfg)
	if bot == nil {
		var err error
		if bot, err = newBot(cfg, now); err != nil {
			return nil, err
		}
	}
	s.bot = bot
	s.accounts = s.platformAccounts()
	return s, nil
}

// tokenDigest is the SHA-256 of an agent's bearer token.
type tokenDigest = [sha256.Size]byte

// agentByToken finds the agent a bearer token belongs to. It looks the
// token's digest up instead of comparing the token with every agent's:
// what a lookup's timing can tell is about the digest, which says nothing
// of the token, and the request does not cost a comparison per agent (a
// scan of 100 agents was 4 % of a claim's CPU, BENCHMARKS.md).
func (s *setup) agentByToken(token string) (Agent, bool) {
	a, ok := s.byToken[sha256.Sum256([]byte(token))]
	if !ok || token == "" {
		return Agent{}, false
	}
	return *a, true
}

// sortedChannels lists the channel ids in order.
func (s *setup) sortedChannels() []string {
	ids := make([]string, 0, len(s.channels))
	for id := range s.channels {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func newBot(cfg *config.Config, now func() time.Time) (bots.Bot, error) {
	b := cfg.Bot
	if b.Type == config.BotHTTP {
		return bots.NewHTTP(bots.HTTPConfig{URL: b.URL, Secret: b.Secret.Reveal(), Timeout: b.Timeout, Now: now})
	}
	answers := make([]bots.Answer, len(b.Answers))
	for i, a := range b.Answers {
		answers[i] = bots.Answer{Keywords: a.Keywords, Text: a.Text}
	}
	return bots.NewKeywords(bots.KeywordsConfig{Greeting: b.Greeting, Fallback: b.Fallback, Answers: answers})
}

// botName is "keywords", or "http:" and the host of an http bot: what a
// bot session's record names.
func botName(b config.Bot) string {
	if b.Type == config.BotHTTP {
		if u, err := url.Parse(b.URL); err == nil {
			return "http:" + u.Host
		}
	}
	return string(b.Type)
}

// Accounts is what one platform's webhooks need from the configuration,
// taken from one snapshot of it.
type Accounts struct {
	// Secrets are the app secrets of the platform's channels (the
	// signature must match one).
	Secrets []string
	// Channels maps an account (phone_number_id, page id, Instagram
	// account id) to its channel id; retired channels are not in it.
	Channels map[string]string
	// VerifyTokens are the verify tokens of the handshake.
	VerifyTokens []string
	// secretOf is each channel's app secret: an entry is accepted only
	// under the secret of its own channel (SignedBy).
	secretOf map[string]string
}

// SignedBy reports whether secret, the one that verified a webhook body,
// is the app secret of channel. Several channels of one Meta app share a
// secret; an entry signed with another app's secret cannot speak for
// this channel's account.
func (a Accounts) SignedBy(channel, secret string) bool {
	own := a.secretOf[channel]
	return own != "" && subtle.ConstantTimeCompare([]byte(own), []byte(secret)) == 1
}

// Accounts returns the current configuration of a platform's webhooks,
// built once per setup (newSetup), not per request.
func (e *Engine) Accounts(p channels.Platform) Accounts { return e.setup.Load().accounts[p] }

// platformAccounts builds what each platform's webhooks need: retired
// channels are not in byAccount and their verify tokens are left out.
func (s *setup) platformAccounts() map[channels.Platform]Accounts {
	out := map[channels.Platform]Accounts{}
	for _, p := range []channels.Platform{channels.WhatsApp, channels.Messenger, channels.Instagram} {
		a := Accounts{Secrets: s.secrets[p], Channels: map[string]string{}, secretOf: map[string]string{}}
		for account, ch := range s.byAccount[p] {
			a.Channels[account] = ch.id
			a.secretOf[ch.id] = ch.cfg.AppSecret.Reveal()
		}
		for _, id := range s.sortedChannels() {
			if ch := s.channels[id]; ch.platform == p && !ch.retired {
				a.VerifyTokens = append(a.VerifyTokens, ch.cfg.VerifyToken.Reveal())
			}
		}
		out[p] = a
	}
	return out
}

// AgentByToken returns the agent a bearer token belongs to.
func (e *Engine) AgentByToken(token string) (Agent, bool) {
	return e.setup.Load().agentByToken(token)
}

// AdminToken is the admin API's bearer token ("" when none is set).
func (e *Engine) AdminToken() string { return e.setup.Load().cfg.AdminToken.Reveal() }

// Channels lists the ids of the channels set up, retired ones included,
// in order.
func (e *Engine) Channels() []string { return e.setup.Load().sortedChannels() }

// StillServes reports whether an agent, as authenticated earlier, is still
// configured with the same channels: a long-lived request (an event
// stream) ends when a reload removed the agent or changed its channels.
func (e *Engine) StillServes(a Agent) bool {
	cur, ok := e.setup.Load().agents[a.ID]
	return ok && slices.Equal(cur.Channels, a.Channels)
}
