package httpapi

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"switchboard/config"
	"switchboard/gateway/engine"
)

// apiError is an error of the HTTP layer itself (a body that cannot be
// read, a bad signature...), with the status and code it answers with.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

var (
	errUnknownPlatform = &apiError{http.StatusNotFound, "unknown_platform", "platform must be whatsapp, messenger or instagram"}
	errTooLarge        = &apiError{http.StatusRequestEntityTooLarge, "too_large", "body exceeds 4 MiB"}
	errBadSignature    = &apiError{http.StatusUnauthorized, "bad_signature", "X-Hub-Signature-256 is missing or does not match"}
	errUnavailable     = &apiError{http.StatusServiceUnavailable, "unavailable", "storage is unavailable; retry later"}
	errInternal        = &apiError{http.StatusInternalServerError, "internal", "internal error"}
	errUnauthorized    = &apiError{http.StatusUnauthorized, "unauthorized", "missing or invalid bearer token or session"}
)

func errBadRequest(msg string) *apiError { return &apiError{http.StatusBadRequest, "bad_request", msg} }

// statusOf is the HTTP status of each engine error code.
var statusOf = map[engine.Code]int{
	engine.CodeInternal:      http.StatusInternalServerError,
	engine.CodeBadRequest:    http.StatusBadRequest,
	engine.CodeNotFound:      http.StatusNotFound,
	engine.CodeForbidden:     http.StatusForbidden,
	engine.CodeAtCapacity:    http.StatusConflict,
	engine.CodeNotWaiting:    http.StatusConflict,
	engine.CodeNotAssigned:   http.StatusConflict,
	engine.CodeNotYours:      http.StatusConflict,
	engine.CodeNotEnded:      http.StatusConflict,
	engine.CodeBusy:          http.StatusConflict,
	engine.CodeNoConfigFile:  http.StatusConflict,
	engine.CodeWindowClosed:  http.StatusUnprocessableEntity,
	engine.CodeUnavailable:   http.StatusServiceUnavailable,
	engine.CodeInvalidConfig: http.StatusBadRequest,
	engine.CodeMediaFailed:   http.StatusBadGateway,
	engine.CodeNoUserMessage: http.StatusUnprocessableEntity,
	// The messaging window (window.go).
	engine.CodeTemplateRefused: http.StatusUnprocessableEntity,
	engine.CodeSendFailed:      http.StatusBadGateway,
	engine.CodeNotBot:          http.StatusConflict,

	engine.CodeUnauthorized:     http.StatusUnauthorized,
	engine.CodeRateLimited:      http.StatusTooManyRequests,
	engine.CodeNotServing:       http.StatusConflict,
	engine.CodeAlreadyHolds:     http.StatusConflict,
	engine.CodeTooLarge:         http.StatusRequestEntityTooLarge,
	engine.CodeUnsupportedMedia: http.StatusUnsupportedMediaType,
}

// classify maps an error to its HTTP status, code and message: the one
// place where errors become responses.
func classify(err error) (int, string, string) {
	var api *apiError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &api):
		return api.status, api.code, api.msg
	case errors.As(err, &he):
		msg := http.StatusText(he.Code)
		if s, ok := he.Message.(string); ok {
			msg = s
		}
		return he.Code, codeForStatus(he.Code), msg
	}
	code, msg := engine.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		status, code, msg = http.StatusInternalServerError, engine.CodeInternal, errInternal.msg
	}
	return status, string(code), msg
}

func codeForStatus(status int) string {
	switch status {
	case http.StatusNotFound:
		return "not_found"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	case http.StatusUnauthorized:
		return "unauthorized"
	}
	if status >= 500 {
		return "internal"
	}
	return "bad_request"
}

// httpError writes every error as {"error": {"code", "message"}} with the
// status its kind maps to.
func (s *Server) httpError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, code, msg := classify(err)
	if status >= 500 && !errors.Is(err, errUnavailable) && !overloaded(err) {
		s.log.ErrorContext(c.Request().Context(), "request failed", "route", c.Path(), "err", err)
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	var limited *engine.RateLimited
	if errors.As(err, &limited) {
		c.Response().Header().Set("Retry-After", strconv.Itoa(limited.Seconds()))
	}
	body := errorBody(code, msg)
	if problems := errorProblems(err); problems != nil {
		body["error"].(map[string]any)["problems"] = problems
	}
	_ = c.JSON(status, body)
}

func errorBody(code, msg string) map[string]any {
	return map[string]any{"error": map[string]any{"code": code, "message": msg}}
}

// errorProblems lists the problems of an invalid configuration, each as
// file:line: path: message, for the error body; nil for other errors.
func errorProblems(err error) []string {
	var cfgErr *config.Error
	if !errors.As(err, &cfgErr) {
		return nil
	}
	out := make([]string, len(cfgErr.Problems))
	for i, p := range cfgErr.Problems {
		out[i] = p.String()
	}
	return out
}
