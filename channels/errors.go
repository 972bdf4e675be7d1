package channels

import (
	"errors"
	"fmt"
	"time"
)

// Parse errors. A webhook whose body fails with either is answered 400.
var (
	ErrMalformed   = errors.New("malformed webhook body")
	ErrWrongObject = errors.New("webhook object is not for this platform")
)

// ErrWindowClosed is returned by a send refused before calling the platform
// because the user's messaging window is closed.
var ErrWindowClosed = errors.New("window_closed")

// SendError is a failed send. Whether it is worth retrying is decided once,
// where the platform's answer is classified, and carried in Retryable.
type SendError struct {
	Platform   Platform
	HTTPStatus int // 0 for a network error
	Code       int // the platform's error code (0 when none)
	Subcode    int
	Message    string
	Retryable  bool
	// RetryAfter, when set, is the platform's or the classifier's advice on
	// how long to wait (e.g. the pair rate limit's 4^x seconds).
	RetryAfter time.Duration
	// Reason is a short machine-readable cause: window_closed, rate_limited,
	// user_unreachable, auth, invalid_request, server_error, network...
	Reason string
	Err    error // the underlying error for network failures
}

func (e *SendError) Error() string {
	kind := "permanent"
	if e.Retryable {
		kind = "retryable"
	}
	switch {
	case e.Code != 0:
		return fmt.Sprintf("%s send failed (%s, %s): code %d/%d: %s", e.Platform, kind, e.Reason, e.Code, e.Subcode, e.Message)
	case e.Err != nil:
		return fmt.Sprintf("%s send failed (%s, %s): %v", e.Platform, kind, e.Reason, e.Err)
	default:
		return fmt.Sprintf("%s send failed (%s, %s): HTTP %d: %s", e.Platform, kind, e.Reason, e.HTTPStatus, e.Message)
	}
}

func (e *SendError) Unwrap() error { return e.Err }

// IsRetryable reports whether err is worth sending again later. Errors that
// are not *SendError (bugs, cancelled contexts) are not retryable.
func IsRetryable(err error) bool {
	var se *SendError
	return errors.As(err, &se) && se.Retryable
}
