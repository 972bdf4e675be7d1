package engine

import (
	"errors"

	"switchboard/channels"
	"switchboard/config"
	"switchboard/queue"
	"switchboard/routing"
)

// Code classifies an error for the engine's callers; the HTTP API maps
// each code to one status.
type Code string

// Codes.
const (
	CodeInternal      Code = "internal"
	CodeBadRequest    Code = "bad_request"
	CodeNotFound      Code = "not_found"
	CodeForbidden     Code = "forbidden"
	CodeAtCapacity    Code = "at_capacity"
	CodeNotWaiting    Code = "not_waiting"
	CodeNotAssigned   Code = "not_assigned"
	CodeNotYours      Code = "not_yours"
	CodeNotEnded      Code = "not_ended"
	CodeBusy          Code = "busy"
	CodeWindowClosed  Code = "window_closed"
	CodeUnavailable   Code = "unavailable"
	CodeInvalidConfig Code = "invalid_config"
	CodeNoConfigFile  Code = "no_config_file"
	CodeMediaFailed   Code = "media_unavailable"
	// CodeNoUserMessage: a read receipt or typing indicator before the
	// user wrote anything.
	CodeNoUserMessage Code = "no_user_message"
	// CodeTemplateRefused: the platform refused a template (window.go).
	CodeTemplateRefused Code = "template_refused"
	// CodeSendFailed: a send the agent waits for failed (window.go).
	CodeSendFailed Code = "send_failed"
	// CodeNotBot: a takeover of a conversation the bot does not hold.
	CodeNotBot Code = "not_bot"
	// Codes of people.go and upload.go.
	CodeUnauthorized     Code = "unauthorized"
	CodeRateLimited      Code = "rate_limited"
	CodeNotServing       Code = "not_serving"
	CodeAlreadyHolds     Code = "already_holds"
	CodeTooLarge         Code = "too_large"
	CodeUnsupportedMedia Code = "unsupported_media_type"
)

// Error is an error with its code and a message fit for the API's caller.
type Error struct {
	Code    Code
	Message string
	Err     error // the cause, for the logs; may be nil
}

func (e *Error) Error() string {
	if e.Err != nil {
		return string(e.Code) + ": " + e.Message + ": " + e.Err.Error()
	}
	return string(e.Code) + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errors of agent operations.
var (
	ErrAtCapacity = &Error{Code: CodeAtCapacity, Message: "agent holds max_conversations already"}
	ErrForbidden  = &Error{Code: CodeForbidden, Message: "conversation is not on one of the agent's channels"}
	ErrNoMedia    = &Error{Code: CodeNotFound, Message: "no such media in this conversation"}
)

// ErrorCode returns the code of err and a message for the caller: an
// *Error's own, or the code of the routing, queue, channels and config
// errors the engine passes on. Anything else is CodeInternal.
func ErrorCode(err error) (Code, string) {
	var e *Error
	var cfgErr *config.Error
	var limited *RateLimited
	var tooLarge *channels.LimitError
	var unsupported *channels.UnsupportedTypeError
	switch {
	case err == nil:
		return "", ""
	case errors.As(err, &e):
		return e.Code, e.Message
	case errors.As(err, &limited):
		return CodeRateLimited, limited.Error()
	case errors.As(err, &tooLarge):
		return CodeTooLarge, tooLarge.Error()
	case errors.As(err, &unsupported):
		return CodeUnsupportedMedia, unsupported.Error()
	case errors.Is(err, routing.ErrNotServing):
		return CodeNotServing, err.Error()
	case errors.Is(err, routing.ErrAtCapacity):
		return CodeAtCapacity, err.Error()
	case errors.Is(err, routing.ErrAlreadyHolds):
		return CodeAlreadyHolds, err.Error()
	case errors.Is(err, routing.ErrNotSupervisor):
		return CodeForbidden, err.Error()
	case errors.Is(err, queue.ErrUnavailable):
		return CodeUnavailable, "storage is unavailable; retry later"
	case errors.Is(err, queue.ErrNotFound):
		return CodeNotFound, "no such conversation"
	case errors.Is(err, routing.ErrNotWaiting):
		return CodeNotWaiting, err.Error()
	case errors.Is(err, routing.ErrNotAssigned):
		return CodeNotAssigned, err.Error()
	case errors.Is(err, routing.ErrNotYours):
		return CodeNotYours, err.Error()
	case errors.Is(err, routing.ErrNotEnded):
		return CodeNotEnded, err.Error()
	case errors.Is(err, routing.ErrNotTakeable):
		return CodeNotBot, err.Error()
	case errors.Is(err, channels.ErrWindowClosed):
		return CodeWindowClosed, "the user's messaging window is closed"
	case errors.Is(err, routing.ErrInvalidInput):
		return CodeBadRequest, err.Error()
	case errors.As(err, &cfgErr):
		return CodeInvalidConfig, "the configuration has problems; the running one is kept"
	case errors.Is(err, queue.ErrBusy):
		return CodeBusy, err.Error()
	}
	return CodeInternal, "internal error"
}
