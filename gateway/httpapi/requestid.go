package httpapi

import (
	"crypto/rand"
	"encoding/hex"

	"github.com/labstack/echo/v4"

	"switchboard/gateway/engine"
)

// headerRequestID carries a request's id in and out.
const headerRequestID = "X-Request-ID"

// requestID takes the caller's X-Request-ID when it is a sane token (at most
// 128 characters of letters, digits and -_.:), or makes one; it answers with
// it and puts it in the request's context for the logs.
func requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(headerRequestID)
		if !validRequestID(id) {
			var b [12]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Response().Header().Set(headerRequestID, id)
		req := c.Request()
		c.SetRequest(req.WithContext(engine.WithRequestID(req.Context(), id)))
		return next(c)
	}
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == ':'
		if !ok {
			return false
		}
	}
	return true
}
