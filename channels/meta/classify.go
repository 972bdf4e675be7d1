package meta

import (
	"net/http"
	"time"

	"switchboard/channels"
)

// Reasons set in channels.SendError.Reason by Classify.
const (
	ReasonWindowClosed    = "window_closed"    // outside the messaging window: send a template (WhatsApp) or use HUMAN_AGENT
	ReasonRateLimited     = "rate_limited"     // a throughput, pair, app or account rate limit; retry later
	ReasonServerError     = "server_error"     // the platform failed or is unavailable; retry later
	ReasonNetwork         = "network"          // the platform could not be reached; retry later
	ReasonUserUnreachable = "user_unreachable" // this user cannot receive messages from the account
	ReasonAuth            = "auth"             // the access token is invalid or expired
	ReasonPermission      = "permission"       // the app or account lacks a permission or capability
	ReasonInvalidRequest  = "invalid_request"  // a bug in the request (parameters, unsupported type)
	ReasonTemplate        = "template"         // the WhatsApp template is missing, paused, disabled or mismatched
	ReasonMedia           = "media"            // the media could not be fetched or uploaded
	ReasonPolicy          = "policy"           // spam limit, opted-out user, blocked or locked account
	ReasonRejected        = "rejected"         // any other refusal
	ReasonBadResponse     = "bad_response"     // a success answer that could not be read (not retried: it may have been sent)
)

// pairRetryAfter is WhatsApp's pair rate: one message every 6 s per user.
const pairRetryAfter = 6 * time.Second

// Classify decides, once, what a Graph API error means for the sender: its
// Reason and whether it is worth retrying. code and subcode come from the
// error body (0 when there was none). A known code wins; an unknown code is
// retryable on HTTP 5xx and 429, permanent otherwise. A template error
// (132xxx) carries a *channels.TemplateError in Err. Message is left for the
// caller to fill.
func Classify(platform channels.Platform, httpStatus, code, subcode int) *channels.SendError {
	se := &channels.SendError{Platform: platform, HTTPStatus: httpStatus, Code: code, Subcode: subcode}
	retry := func(reason string, after time.Duration) *channels.SendError {
		se.Retryable, se.Reason, se.RetryAfter = true, reason, after
		return se
	}
	fail := func(reason string) *channels.SendError {
		se.Reason = reason
		return se
	}
	switch {
	case code == 131047, code == 10 && (subcode == 2018278 || subcode == 2534022 || subcode == 2018065):
		return fail(ReasonWindowClosed)
	case code == 131056:
		return retry(ReasonRateLimited, pairRetryAfter)
	case code == 130429:
		return retry(ReasonRateLimited, time.Second)
	case code == 4, code == 613, code == 80007:
		return retry(ReasonRateLimited, 0)
	case code == 2, code == 1200, code == 131000, code == 131057, code == 133004, code == 131016:
		return retry(ReasonServerError, 0)
	case code == 131026, code == 551, code == 230, code == 10 && subcode == 2018108:
		return fail(ReasonUserUnreachable)
	case code == 0 && httpStatus == http.StatusUnauthorized, code == 190:
		return fail(ReasonAuth)
	case code == 100, code == 131008, code == 131009, code == 131051:
		return fail(ReasonInvalidRequest)
	case code >= 132000 && code <= 132999:
		se.Err = &channels.TemplateError{Code: code, Problem: templateProblem(code)}
		return fail(ReasonTemplate)
	case code == 131052, code == 131053:
		return fail(ReasonMedia)
	case code == 131048, code == 131049, code == 131050, code == 368, code == 131031:
		return fail(ReasonPolicy)
	case code == 3, code == 10, code >= 200 && code <= 299:
		return fail(ReasonPermission)
	case httpStatus == http.StatusTooManyRequests:
		return retry(ReasonRateLimited, 0)
	case httpStatus >= 500:
		return retry(ReasonServerError, 0)
	}
	return fail(ReasonRejected)
}

// templateProblem names the WhatsApp template error codes.
func templateProblem(code int) channels.TemplateProblem {
	switch code {
	case 132000:
		return channels.TemplateParamCount
	case 132001:
		return channels.TemplateMissing
	case 132012:
		return channels.TemplateParamFormat
	case 132015:
		return channels.TemplatePaused
	case 132016:
		return channels.TemplateDisabled
	}
	return channels.TemplateRefused
}
