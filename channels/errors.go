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
	// Err is the underlying error: the network failure, or a *TemplateError
	// when the platform refused a template (find it with errors.As).
	Err error
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

// TemplateProblem is why the platform refused a template.
type TemplateProblem string

// Template problems.
const (
	TemplateParamCount  TemplateProblem = "parameter_count"  // the number of parameters differs from the template's
	TemplateMissing     TemplateProblem = "missing"          // no template of that name in that language
	TemplateParamFormat TemplateProblem = "parameter_format" // a parameter's format differs from the template's
	TemplatePaused      TemplateProblem = "paused"           // paused by the platform (low quality)
	TemplateDisabled    TemplateProblem = "disabled"         // disabled by the platform for good
	TemplateRefused     TemplateProblem = "refused"          // any other template error
)

// TemplateError is a template the platform refused: the request was wrong
// for that template, not worth retrying. It comes wrapped in the
// *SendError of the send (errors.As finds it); an HTTP API answers it with
// 422 and Error as the message.
type TemplateError struct {
	Problem  TemplateProblem
	Code     int    // the platform's error code
	Name     string // the template's name, when the sender knows it
	Language string // the template's language code, when the sender knows it
	Detail   string // the platform's own message
}

// Error says what is wrong with the template, in words for the person who
// chose it.
func (e *TemplateError) Error() string {
	name := "the template"
	if e.Name != "" {
		name = fmt.Sprintf("template %q", e.Name)
	}
	lang := ""
	if e.Language != "" {
		lang = " (" + e.Language + ")"
	}
	switch e.Problem {
	case TemplateParamCount:
		return fmt.Sprintf("%s%s: the number of parameters does not match the approved template", name, lang)
	case TemplateMissing:
		if e.Language != "" {
			return fmt.Sprintf("%s does not exist in language %s", name, e.Language)
		}
		return name + " does not exist in that language"
	case TemplateParamFormat:
		return fmt.Sprintf("%s%s: a parameter's format does not match the approved template", name, lang)
	case TemplatePaused:
		return fmt.Sprintf("%s is paused for low quality and cannot be sent until it is active again", name)
	case TemplateDisabled:
		return fmt.Sprintf("%s is disabled and can no longer be sent", name)
	}
	msg := fmt.Sprintf("%s%s was refused (code %d)", name, lang, e.Code)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}
