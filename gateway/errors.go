package gateway

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"switchboard/channels"
	"switchboard/config"
	"switchboard/queue"
	"switchboard/routing"
)

// apiError is an error with the HTTP status and code it answers with.
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
	errUnauthorized    = &apiError{http.StatusUnauthorized, "unauthorized", "missing or invalid bearer token"}
)

func errBadRequest(msg string) *apiError { return &apiError{http.StatusBadRequest, "bad_request", msg} }

// classify maps an error to its HTTP status, code and message: the one
// place where errors become responses.
func classify(err error) (int, string, string) {
	var api *apiError
	var he *echo.HTTPError
	var cfgErr *config.Error
	switch {
	case errors.As(err, &api):
		return api.status, api.code, api.msg
	case errors.As(err, &he):
		msg := http.StatusText(he.Code)
		if s, ok := he.Message.(string); ok {
			msg = s
		}
		return he.Code, codeForStatus(he.Code), msg
	case errors.Is(err, queue.ErrUnavailable):
		return http.StatusServiceUnavailable, errUnavailable.code, errUnavailable.msg
	case errors.Is(err, queue.ErrNotFound):
		return http.StatusNotFound, "not_found", "no such conversation"
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden, "forbidden", err.Error()
	case errors.Is(err, ErrAtCapacity):
		return http.StatusConflict, "at_capacity", err.Error()
	case errors.Is(err, routing.ErrNotWaiting):
		return http.StatusConflict, "not_waiting", err.Error()
	case errors.Is(err, routing.ErrNotAssigned):
		return http.StatusConflict, "not_assigned", err.Error()
	case errors.Is(err, routing.ErrNotYours):
		return http.StatusConflict, "not_yours", err.Error()
	case errors.Is(err, routing.ErrNotEnded):
		return http.StatusConflict, "not_ended", err.Error()
	case errors.Is(err, channels.ErrWindowClosed):
		return http.StatusUnprocessableEntity, "window_closed", "the user's messaging window is closed"
	case errors.Is(err, routing.ErrInvalidInput):
		return http.StatusBadRequest, "bad_request", err.Error()
	case errors.As(err, &cfgErr):
		return http.StatusBadRequest, "invalid_config", "the configuration has problems; the running one is kept"
	case errors.Is(err, queue.ErrBusy):
		return http.StatusConflict, "busy", err.Error()
	}
	return http.StatusInternalServerError, errInternal.code, errInternal.msg
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
