package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/channels"
	"switchboard/gateway/engine"
	"switchboard/queue"
	"switchboard/routing"
)

// Every error reaches the client with one status and code: the HTTP
// layer's own, echo's, the engine's codes and the errors it passes on,
// wrapped or not; anything unknown is a 500 that says nothing more.
func TestClassify(t *testing.T) {
	tests := []struct {
		err    error
		status int
		code   string
	}{
		{errBadSignature, http.StatusUnauthorized, "bad_signature"},
		{errBadRequest("text is empty"), http.StatusBadRequest, "bad_request"},
		{echo.NewHTTPError(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed, "method_not_allowed"},
		{engine.ErrForbidden, http.StatusForbidden, "forbidden"},
		{engine.ErrAtCapacity, http.StatusConflict, "at_capacity"},
		{engine.ErrNoMedia, http.StatusNotFound, "not_found"},
		{&engine.Error{Code: engine.CodeMediaFailed, Message: "m"}, http.StatusBadGateway, "media_unavailable"},
		{&engine.Error{Code: engine.CodeNoConfigFile, Message: "m"}, http.StatusConflict, "no_config_file"},
		{fmt.Errorf("load: %w", queue.ErrUnavailable), http.StatusServiceUnavailable, "unavailable"},
		{queue.ErrNotFound, http.StatusNotFound, "not_found"},
		{routing.ErrNotWaiting, http.StatusConflict, "not_waiting"},
		{routing.ErrNotAssigned, http.StatusConflict, "not_assigned"},
		{routing.ErrNotYours, http.StatusConflict, "not_yours"},
		{routing.ErrNotEnded, http.StatusConflict, "not_ended"},
		{routing.ErrInvalidInput, http.StatusBadRequest, "bad_request"},
		{channels.ErrWindowClosed, http.StatusUnprocessableEntity, "window_closed"},
		{queue.ErrBusy, http.StatusConflict, "busy"},
		{engine.ErrNoUserMessage, http.StatusUnprocessableEntity, "no_user_message"},
		{routing.ErrNotTakeable, http.StatusConflict, "not_bot"},
		{&engine.Error{Code: engine.CodeTemplateRefused, Message: "template refused"}, http.StatusUnprocessableEntity, "template_refused"},
		{engine.ErrBadCredentials, http.StatusUnauthorized, "unauthorized"},
		{&engine.RateLimited{What: "sign-in attempts", RetryAfter: time.Second}, http.StatusTooManyRequests, "rate_limited"},
		{fmt.Errorf("transfer: %w", routing.ErrNotServing), http.StatusConflict, "not_serving"},
		{routing.ErrAtCapacity, http.StatusConflict, "at_capacity"},
		{routing.ErrAlreadyHolds, http.StatusConflict, "already_holds"},
		{routing.ErrNotSupervisor, http.StatusForbidden, "forbidden"},
		{engine.ErrNotSupervisor, http.StatusForbidden, "forbidden"},
		{&channels.LimitError{Platform: channels.WhatsApp, Type: channels.MediaImage, Limit: 5_000_000, Size: -1}, http.StatusRequestEntityTooLarge, "too_large"},
		{fmt.Errorf("upload: %w", &channels.UnsupportedTypeError{Platform: channels.Instagram, Type: channels.MediaDocument}), http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{errors.New("boom"), http.StatusInternalServerError, "internal"},
		{&engine.Error{Code: "made_up", Message: "secret detail"}, http.StatusInternalServerError, "internal"},
	}
	for _, tt := range tests {
		status, code, msg := classify(tt.err)
		if status != tt.status || code != tt.code {
			t.Errorf("classify(%v) = %d %s, want %d %s", tt.err, status, code, tt.status, tt.code)
		}
		if status == http.StatusInternalServerError && msg != errInternal.msg {
			t.Errorf("classify(%v) message %q: a 500 must not say more than %q", tt.err, msg, errInternal.msg)
		}
	}
}

// Every engine code has a status.
func TestEveryCodeHasAStatus(t *testing.T) {
	codes := []engine.Code{engine.CodeInternal, engine.CodeBadRequest, engine.CodeNotFound, engine.CodeForbidden,
		engine.CodeAtCapacity, engine.CodeNotWaiting, engine.CodeNotAssigned, engine.CodeNotYours, engine.CodeNotEnded,
		engine.CodeBusy, engine.CodeWindowClosed, engine.CodeUnavailable, engine.CodeInvalidConfig,
		engine.CodeNoConfigFile, engine.CodeMediaFailed, engine.CodeNoUserMessage,
		engine.CodeTemplateRefused, engine.CodeSendFailed, engine.CodeNotBot,
		engine.CodeUnauthorized, engine.CodeRateLimited, engine.CodeNotServing, engine.CodeAlreadyHolds,
		engine.CodeTooLarge, engine.CodeUnsupportedMedia}
	for _, c := range codes {
		if _, ok := statusOf[c]; !ok {
			t.Errorf("engine code %q has no HTTP status", c)
		}
	}
	if len(statusOf) != len(codes) {
		t.Errorf("statusOf maps %d codes, this test knows %d: add the new ones here", len(statusOf), len(codes))
	}
}
