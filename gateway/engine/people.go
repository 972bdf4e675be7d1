package engine

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"switchboard/config"
	"switchboard/queue"
	"switchboard/routing"
)

// Agents as people: supervisors, transfers between agents, and the
// console's sign-in with a password, kept as a session in Redis.

// WebSessions keeps console sessions and the counters that rate-limit
// sign-in and failed authentication.
type WebSessions interface {
	SaveWebSession(ctx context.Context, token string, ws queue.WebSession, now time.Time) error
	WebSession(ctx context.Context, token string) (queue.WebSession, bool, error)
	DeleteWebSession(ctx context.Context, token string) error
	Hit(ctx context.Context, name string, window time.Duration, now time.Time) (int64, time.Duration, error)
}

var _ WebSessions = (*queue.Store)(nil)

// Sign-in limits: attempts per agent and per client address in one
// window. Failed bearer and admin tokens have their own limit per address.
const (
	signInWindow      = time.Minute
	signInsPerAgent   = 5
	signInsPerAddress = 20
	// AuthFailuresPerAddress bounds the failed bearer-token and admin-token
	// authentications of one client address in one AuthFailureWindow.
	AuthFailuresPerAddress = 20
	// AuthFailureWindow is the window of AuthFailuresPerAddress.
	AuthFailureWindow = time.Minute
)

// Errors of the sign-in.
var (
	// ErrBadCredentials answers a wrong agent or password alike.
	ErrBadCredentials = &Error{Code: CodeUnauthorized, Message: "wrong agent or password"}
	// ErrNoSession is a session cookie that names no live session.
	ErrNoSession     = &Error{Code: CodeUnauthorized, Message: "the session has ended: sign in again"}
	ErrNotSupervisor = &Error{Code: CodeForbidden, Message: "only a supervisor may assign conversations"}
	ErrUnknownAgent  = &Error{Code: CodeNotFound, Message: "no such agent"}
)

// RateLimited is an operation refused until RetryAfter has passed.
type RateLimited struct {
	What       string // what was limited, for the message
	RetryAfter time.Duration
}

func (e *RateLimited) Error() string {
	return fmt.Sprintf("too many %s: retry in %d s", e.What, e.Seconds())
}

// Seconds is RetryAfter in whole seconds, rounded up, at least 1 (a
// Retry-After header's value).
func (e *RateLimited) Seconds() int {
	return max(1, int((e.RetryAfter+time.Second-1)/time.Second))
}

// IsSupervisor reports whether the agent is a supervisor of its channels.
func (a Agent) IsSupervisor() bool { return a.Role == config.RoleSupervisor }

// fingerprint digests what a session depends on in an agent's
// configuration: a session signed in before a reload that changed any of
// it (the password, the role, the channels) or removed the agent ends.
func fingerprint(a config.Agent) string {
	data, _ := json.Marshal([]any{a.ID, a.Role, a.Channels, a.PasswordHash.Reveal()})
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:16])
}

// Transfer hands a conversation the agent holds (or, for a supervisor, any
// assigned conversation of its channels) to the agent to, who must serve
// the channel and be under max_conversations (online or not). It returns
// queue.ErrNotFound, ErrForbidden, ErrUnknownAgent, and the routing errors
// of a refusal (routing.ErrNotAssigned, ErrNotYours, ErrAlreadyHolds,
// ErrNotServing, ErrAtCapacity).
func (e *Engine) Transfer(ctx context.Context, a Agent, convID, to string) (ConversationView, error) {
	return e.handOver(ctx, a, convID, to, routing.InAgentTransfer)
}

// Assign gives a waiting or assigned conversation of the supervisor's
// channels to the agent to. It returns ErrNotSupervisor for an agent who
// is not one, and otherwise what Transfer returns (routing.ErrNotWaiting
// for a conversation neither waiting nor assigned).
func (e *Engine) Assign(ctx context.Context, a Agent, convID, to string) (ConversationView, error) {
	if !a.IsSupervisor() {
		return ConversationView{}, ErrNotSupervisor
	}
	return e.handOver(ctx, a, convID, to, routing.InAgentAssign)
}

func (e *Engine) handOver(ctx context.Context, a Agent, convID, to string, kind routing.InputKind) (ConversationView, error) {
	if _, err := e.authorize(ctx, a, convID); err != nil {
		return ConversationView{}, err
	}
	s := e.setup.Load()
	target, ok := s.agents[to]
	if !ok {
		return ConversationView{}, ErrUnknownAgent
	}
	// Capacity counts every channel of the target, which one atomic step
	// cannot read (one channel's keys per step): like a claim, two
	// transfers at the same instant may exceed it by one.
	held, err := e.line.Held(ctx, target.Channels)
	if err != nil {
		return ConversationView{}, err
	}
	t := &routing.Target{ID: target.ID, Name: target.Name, Serves: target.Serves(queue.ChannelOf(convID)),
		Held: held[target.ID], Max: target.MaxConversations}
	in := routing.Input{Kind: kind, Agent: a.ID, AgentName: a.Name, Supervisor: a.IsSupervisor(), Target: t}
	rec, err := e.apply(ctx, s, convID, in, "", nil, nil)
	if err != nil {
		return ConversationView{}, err
	}
	e.log.InfoContext(ctx, "conversation handed over", "agent", a.ID, "to", to, "conversation", rec.ID, "action", kind)
	return view(s.channels[rec.Channel], rec, 0, e.now()), nil
}

// ConsoleSession is a signed-in console session as the API shows it.
type ConsoleSession struct {
	Token string // the cookie's value; only its hash is stored
	CSRF  string
	Agent Agent
}

// dummyHashes are hashes of no one's password, one per bcrypt cost, to
// compare a password against when the agent is unknown or has no password:
// the answer then takes as long as for a known agent.
var dummyHashes sync.Map // cost -> []byte

// dummyHashFor returns the dummy hash of the cost of the configuration's
// password hashes (the first one's), made once per cost, so that no
// sign-in pays for making it; nil when no agent has a password.
func dummyHashFor(cfg *config.Config) []byte {
	for _, a := range cfg.Agents {
		cost, err := bcrypt.Cost([]byte(a.PasswordHash.Reveal()))
		if err != nil {
			continue
		}
		if h, ok := dummyHashes.Load(cost); ok {
			return h.([]byte)
		}
		h, err := bcrypt.GenerateFromPassword([]byte("no one's password"), cost)
		if err != nil {
			return nil
		}
		dummyHashes.Store(cost, h)
		return h
	}
	return nil
}

// SignIn checks an agent's password and opens a console session. Attempts
// are limited per agent and per client address (addr), counted before the
// password is checked; a wrong agent and a wrong password get the same
// answer, ErrBadCredentials, in about the same time. It returns
// *RateLimited past the limits.
func (e *Engine) SignIn(ctx context.Context, agentID, password, addr string) (ConsoleSession, error) {
	now := e.now()
	for _, l := range []struct {
		name string
		max  int64
	}{{"signin:agent:" + agentID, signInsPerAgent}, {"signin:addr:" + addr, signInsPerAddress}} {
		n, retry, err := e.sessions.Hit(ctx, l.name, signInWindow, now)
		if err != nil {
			return ConsoleSession{}, err
		}
		if n > l.max {
			return ConsoleSession{}, &RateLimited{What: "sign-in attempts", RetryAfter: retry}
		}
	}
	s := e.setup.Load()
	a, known := s.agents[agentID]
	hash := s.dummyHash
	if known && a.passwordHash != "" {
		hash = []byte(a.passwordHash)
	} else {
		known = false
	}
	if hash == nil { // no agent has a password: no sign-in at all
		return ConsoleSession{}, ErrBadCredentials
	}
	if err := bcrypt.CompareHashAndPassword(hash, []byte(password)); err != nil || !known {
		return ConsoleSession{}, ErrBadCredentials
	}
	ses := ConsoleSession{Token: randomToken(), CSRF: randomToken(), Agent: *a}
	ws := queue.WebSession{Agent: a.ID, CSRF: ses.CSRF, Fingerprint: a.fingerprint, Expires: now.Add(s.cfg.Sessions.TTL)}
	if err := e.sessions.SaveWebSession(ctx, ses.Token, ws, now); err != nil {
		return ConsoleSession{}, err
	}
	e.log.InfoContext(ctx, "agent signed in", "agent", a.ID)
	return ses, nil
}

// SessionByToken returns the live session of a cookie's token and extends
// it (a sliding expiry). A session that expired, or whose agent a reload
// removed or changed, is ended: ErrNoSession.
func (e *Engine) SessionByToken(ctx context.Context, token string) (ConsoleSession, error) {
	if token == "" {
		return ConsoleSession{}, ErrNoSession
	}
	ws, ok, err := e.sessions.WebSession(ctx, token)
	if err != nil {
		return ConsoleSession{}, err
	}
	if !ok {
		return ConsoleSession{}, ErrNoSession
	}
	s, now := e.setup.Load(), e.now()
	a, known := s.agents[ws.Agent]
	if !known || subtle.ConstantTimeCompare([]byte(a.fingerprint), []byte(ws.Fingerprint)) != 1 || !now.Before(ws.Expires) {
		if err := e.sessions.DeleteWebSession(ctx, token); err != nil {
			return ConsoleSession{}, err
		}
		return ConsoleSession{}, ErrNoSession
	}
	// Extended at most once a minute: a busy console does not write on
	// every request.
	ttl := s.cfg.Sessions.TTL
	if ws.Expires.Sub(now) < ttl-time.Minute {
		ws.Expires = now.Add(ttl)
		if err := e.sessions.SaveWebSession(ctx, token, ws, now); err != nil {
			return ConsoleSession{}, err
		}
	}
	return ConsoleSession{Token: token, CSRF: ws.CSRF, Agent: *a}, nil
}

// SignOut ends a console session at once.
func (e *Engine) SignOut(ctx context.Context, token string) error {
	return e.sessions.DeleteWebSession(ctx, token)
}

// AuthFailed counts a failed authentication from a client address and
// returns, once the address has failed more than AuthFailuresPerAddress
// times in the window, how long until the window ends (else 0).
func (e *Engine) AuthFailed(ctx context.Context, addr string) (time.Duration, error) {
	n, retry, err := e.sessions.Hit(ctx, "authfail:"+addr, AuthFailureWindow, e.now())
	if err != nil || n <= AuthFailuresPerAddress {
		return 0, err
	}
	return retry, nil
}

// randomToken is 32 random bytes, base64url.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// PresenceOf returns an agent's presence.
func (e *Engine) PresenceOf(ctx context.Context, a Agent) (queue.Presence, error) {
	p, _, err := e.presence.Presences(ctx, []string{a.ID})
	if err != nil {
		return "", err
	}
	if p[a.ID] == "" {
		return queue.Offline, nil
	}
	return p[a.ID], nil
}
