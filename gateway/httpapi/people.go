package httpapi

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"switchboard/gateway/engine"
	"switchboard/queue"
)

// Agents as people: the console's sign-in (a session cookie with CSRF
// protection), who the caller is, transfers and supervisors' assignments,
// and the limits on failed authentication.

// sessionCookie names the console's session cookie.
const sessionCookie = "switchboard_session"

// maxLockouts bounds the addresses this process remembers as locked out.
const maxLockouts = 10_000

// people is the server's sign-in state: failed authentications by kind
// (bearer, admin, password, session) and the addresses this process saw
// go past the failure limit, refused until their window ends.
type people struct {
	failures *prometheus.CounterVec
	mu       sync.Mutex
	locked   map[string]time.Time // address -> end of its lockout
}

func newPeople(r prometheus.Registerer) *people {
	failures := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_auth_failures_total", Help: "Failed authentications by kind: bearer, admin, password (sign-in), session (cookie).",
	}, []string{"kind"})
	r.MustRegister(failures)
	for _, k := range []string{"bearer", "admin", "password", "session"} {
		failures.WithLabelValues(k)
	}
	return &people{failures: failures, locked: map[string]time.Time{}}
}

// lockedOut returns how long addr stays locked out (0: it is not).
func (p *people) lockedOut(addr string, now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	until, ok := p.locked[addr]
	if ok && !now.Before(until) {
		delete(p.locked, addr)
		return 0
	}
	return until.Sub(now)
}

func (p *people) lock(addr string, until, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.locked) >= maxLockouts {
		for a, u := range p.locked {
			if !now.Before(u) {
				delete(p.locked, a)
			}
		}
		if len(p.locked) >= maxLockouts {
			return // the Redis counter still answers 429 past the limit
		}
	}
	p.locked[addr] = until
}

// clientAddr is the address the request came from: the connection's peer,
// never a header a client may set.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limitFailures counts the 401s of the bearer check after it to a
// request with an Authorization header as failed authentications of kind, and refuses (429) an address that failed more
// than engine.AuthFailuresPerAddress times in a window, whatever it sends,
// until the window ends.
func (s *Server) limitFailures(kind string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			addr, now := clientAddr(c.Request()), s.now()
			if wait := s.people.lockedOut(addr, now); wait > 0 {
				return &engine.RateLimited{What: "failed authentications", RetryAfter: wait}
			}
			err := next(c)
			// A request without a token guesses nothing: only a token
			// presented and refused counts.
			if !errors.Is(err, errUnauthorized) || c.Request().Header.Get("Authorization") == "" {
				return err
			}
			s.people.failures.WithLabelValues(kind).Inc()
			wait, lerr := s.engine.AuthFailed(c.Request().Context(), addr)
			if lerr != nil || wait == 0 {
				return err
			}
			s.people.lock(addr, now.Add(wait), now)
			return &engine.RateLimited{What: "failed authentications", RetryAfter: wait}
		}
	}
}

// agentAuth authenticates an agent by bearer token (integrations) or by
// the console's session cookie. A state-changing request authenticated by
// cookie must come from this site and carry the session's CSRF token.
func (s *Server) agentAuth(next echo.HandlerFunc) echo.HandlerFunc {
	viaBearer := s.limitFailures("bearer")(bearer(s.agentToken)(next))
	return func(c echo.Context) error {
		r := c.Request()
		cookie, err := r.Cookie(sessionCookie)
		if r.Header.Get("Authorization") != "" || err != nil {
			return viaBearer(c)
		}
		ses, err := s.engine.SessionByToken(r.Context(), cookie.Value)
		if err != nil {
			if errors.Is(err, engine.ErrNoSession) {
				s.people.failures.WithLabelValues("session").Inc()
			}
			return err
		}
		if err := checkSameSite(r, ses.CSRF); err != nil {
			return err
		}
		c.Set("principal", ses.Agent)
		c.Set("session", ses)
		return next(c)
	}
}

// checkSameSite refuses (403) a state-changing request that another site
// may have sent: Sec-Fetch-Site cross-site, an Origin other than this
// host, or a missing or wrong X-CSRF-Token.
func checkSameSite(r *http.Request, csrf string) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	if err := checkOrigin(r); err != nil {
		return err
	}
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("X-CSRF-Token")), []byte(csrf)) != 1 {
		return errForbidden("X-CSRF-Token is missing or wrong: send the csrf_token of GET /api/v1/agents/me")
	}
	return nil
}

// checkOrigin refuses (403) a request a browser says comes from another
// site: Sec-Fetch-Site cross-site, or an Origin other than this host.
func checkOrigin(r *http.Request) error {
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return errForbidden("a cross-site request (Sec-Fetch-Site: cross-site) may not change anything")
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		u, err := url.Parse(origin)
		if err != nil || !strings.EqualFold(u.Host, r.Host) {
			return errForbidden("Origin is not this site: a request from another origin may not change anything")
		}
	}
	return nil
}

func errForbidden(msg string) *apiError { return &apiError{http.StatusForbidden, "forbidden", msg} }

// registerPeople adds sign-in, sign-out, who-am-I, transfer and assign;
// g is the authenticated agent group.
func (s *Server) registerPeople(e *echo.Echo, g *echo.Group) {
	e.POST("/api/v1/session", s.signIn)
	g.DELETE("/session", s.signOut)
	g.GET("/agents/me", s.me)
	g.POST("/conversations/:id/transfer", s.handOver(s.engine.Transfer))
	g.POST("/conversations/:id/assign", s.handOver(s.engine.Assign))
	s.registerUploads(g)
}

// meBody is GET /api/v1/agents/me; csrf_token only for a cookie session;
// labels are the configured ones (the console's filter and checkboxes),
// templates the names of the agent's channels' WhatsApp templates (its
// template picker).
type meBody struct {
	ID        string              `json:"id"`
	Name      string              `json:"name"`
	Role      string              `json:"role"`
	Channels  []string            `json:"channels"`
	Presence  queue.Presence      `json:"presence"`
	Labels    []string            `json:"labels"`
	Templates map[string][]string `json:"templates"`
	CSRFToken string              `json:"csrf_token,omitempty"`
}

func (s *Server) meOf(c echo.Context, a engine.Agent, csrf string) error {
	p, err := s.engine.PresenceOf(c.Request().Context(), a)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, meBody{ID: a.ID, Name: a.Name, Role: string(a.Role), Channels: a.Channels, Presence: p, Labels: s.engine.Labels(), Templates: s.engine.Templates(a), CSRFToken: csrf})
}

func (s *Server) me(c echo.Context) error {
	csrf := ""
	if ses, ok := c.Get("session").(engine.ConsoleSession); ok {
		csrf = ses.CSRF
	}
	return s.meOf(c, agentOf(c), csrf)
}

// signIn is POST /api/v1/session {"agent", "password"}: a session cookie
// and who signed in; 401 for a wrong agent or password alike, 403 from
// another site.
func (s *Server) signIn(c echo.Context) error {
	var b struct {
		Agent    string `json:"agent"`
		Password string `json:"password"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, 4<<10)).Decode(&b); err != nil || b.Agent == "" || b.Password == "" {
		return errBadRequest(`body must be JSON {"agent": "...", "password": "..."}`)
	}
	r := c.Request()
	// Another site may not sign a browser in (to an account of its choice).
	if err := checkOrigin(r); err != nil {
		return err
	}
	ses, err := s.engine.SignIn(r.Context(), b.Agent, b.Password, clientAddr(r))
	if errors.Is(err, engine.ErrBadCredentials) {
		s.people.failures.WithLabelValues("password").Inc()
	}
	if err != nil {
		return err
	}
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: ses.Token, Path: "/", HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	return s.meOf(c, ses.Agent, ses.CSRF)
}

// signOut is DELETE /api/v1/session: the session ends at once (a bearer
// token has none to end).
func (s *Server) signOut(c echo.Context) error {
	if ses, ok := c.Get("session").(engine.ConsoleSession); ok {
		if err := s.engine.SignOut(c.Request().Context(), ses.Token); err != nil {
			return err
		}
	}
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: c.Request().TLS != nil, SameSite: http.SameSiteStrictMode})
	return c.NoContent(http.StatusNoContent)
}

// handOver runs a transfer or an assignment {"agent": "bob"}.
func (s *Server) handOver(do func(ctx context.Context, a engine.Agent, convID, to string) (engine.ConversationView, error)) echo.HandlerFunc {
	return func(c echo.Context) error {
		var b struct {
			Agent string `json:"agent"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, 4<<10)).Decode(&b); err != nil || strings.TrimSpace(b.Agent) == "" {
			return errBadRequest(`body must be JSON {"agent": "<agent id>"}`)
		}
		conv, err := do(c.Request().Context(), agentOf(c), c.Param("id"), b.Agent)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, conv)
	}
}
