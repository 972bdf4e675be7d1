package httpapi

import (
	"crypto/subtle"
	"strings"

	"github.com/labstack/echo/v4"

	"switchboard/gateway/engine"
)

// bearer checks "Authorization: Bearer <token>" with check, which says
// whether the token is good and what it identifies (kept in the request
// as "principal"); a missing or refused token is 401. The scheme is
// case-insensitive (RFC 9110), so "bearer <token>" is accepted too.
func bearer(check func(token string) (any, bool)) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			scheme, token, ok := strings.Cut(strings.TrimSpace(c.Request().Header.Get("Authorization")), " ")
			if !ok || !strings.EqualFold(scheme, "Bearer") {
				return errUnauthorized
			}
			who, ok := check(strings.TrimSpace(token))
			if !ok {
				return errUnauthorized
			}
			c.Set("principal", who)
			return next(c)
		}
	}
}

// agentToken resolves an agent's token, against the current configuration.
func (s *Server) agentToken(token string) (any, bool) { return s.engine.AgentByToken(token) }

// adminToken checks the admin token in constant time, against the current
// configuration; no admin token configured refuses every request.
func (s *Server) adminToken(token string) (any, bool) {
	want := s.engine.AdminToken()
	return nil, want != "" && subtle.ConstantTimeCompare([]byte(token), []byte(want)) == 1
}

// agentOf is the agent the request authenticated as.
func agentOf(c echo.Context) engine.Agent { return c.Get("principal").(engine.Agent) }
