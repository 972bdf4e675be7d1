package testkit

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// GraphError is an error the fake answers, in Meta's error JSON:
//
//	{"error":{"message":"(#<code>) <title>","type":"OAuthException","code":…,
//	  "error_subcode":…,"error_data":{"details":…},"fbtrace_id":…}}
type GraphError struct {
	Status    int    // HTTP status
	Code      int    // error.code
	Subcode   int    // error.error_subcode; 0 leaves it out
	Title     string // the message after "(#<code>) "
	Details   string // error.error_data.details (WhatsApp); "" leaves it out
	FBTraceID string // default "AbCdEfTestTrace"
}

// Errors Meta answers, by the code the gateway acts on.
var (
	ErrServer           = GraphError{Status: http.StatusInternalServerError, Code: 131000, Title: "Something went wrong"}
	ErrUnavailable      = GraphError{Status: http.StatusServiceUnavailable, Code: 2, Title: "Service temporarily unavailable"}
	ErrRateLimit        = GraphError{Status: http.StatusBadRequest, Code: 130429, Title: "Rate limit hit", Details: "Message failed to send because there were too many messages sent from this phone number in a short period of time"}
	ErrPairRateLimit    = GraphError{Status: http.StatusBadRequest, Code: 131056, Title: "(Business Account, Consumer Account) pair rate limit hit"}
	ErrWindowClosed     = GraphError{Status: http.StatusBadRequest, Code: 131047, Title: "Re-engagement message", Details: "Message failed to send because more than 24 hours have passed since the customer last replied to this number."}
	ErrUndeliverable    = GraphError{Status: http.StatusBadRequest, Code: 131026, Title: "Message undeliverable"}
	ErrMessengerWindow  = GraphError{Status: http.StatusBadRequest, Code: 10, Subcode: 2018278, Title: "This message is sent outside of allowed window."}
	ErrInstagramWindow  = GraphError{Status: http.StatusBadRequest, Code: 10, Subcode: 2534022, Title: "This message is sent outside of allowed window."}
	ErrTemplateParams   = GraphError{Status: http.StatusBadRequest, Code: 132000, Title: "Number of parameters does not match the expected number of params"}
	ErrTemplateMissing  = GraphError{Status: http.StatusNotFound, Code: 132001, Title: "Template name does not exist in the translation"}
	ErrTemplateFormat   = GraphError{Status: http.StatusBadRequest, Code: 132012, Title: "Parameter format does not match format in the created template"}
	ErrTemplatePaused   = GraphError{Status: http.StatusBadRequest, Code: 132015, Title: "Template is paused"}
	ErrTemplateDisabled = GraphError{Status: http.StatusBadRequest, Code: 132016, Title: "Template is disabled"}
	ErrTokenExpired     = GraphError{Status: http.StatusUnauthorized, Code: 190, Title: "Error validating access token: Session has expired"}
	ErrInvalidParameter = GraphError{Status: http.StatusBadRequest, Code: 100, Title: "Invalid parameter"}
	ErrUnknownObject    = GraphError{Status: http.StatusBadRequest, Code: 100, Subcode: 33, Title: "Unsupported request. Object does not exist, cannot be loaded due to missing permissions, or does not support this operation"}
)

// With returns e with details set.
func (e GraphError) With(details string) GraphError {
	e.Details = details
	return e
}

// Error implements error.
func (e GraphError) Error() string {
	return fmt.Sprintf("graph API %d: (#%d) %s", e.Status, e.Code, e.Title)
}

// JSON is the error body Meta answers.
func (e GraphError) JSON() string {
	type data struct {
		Details string `json:"details"`
	}
	var body struct {
		Error struct {
			Message   string `json:"message"`
			Type      string `json:"type"`
			Code      int    `json:"code"`
			Subcode   int    `json:"error_subcode,omitempty"`
			Data      *data  `json:"error_data,omitempty"`
			FBTraceID string `json:"fbtrace_id"`
		} `json:"error"`
	}
	b := &body.Error
	b.Message, b.Type, b.Code, b.Subcode = fmt.Sprintf("(#%d) %s", e.Code, e.Title), "OAuthException", e.Code, e.Subcode
	if e.Details != "" {
		b.Data = &data{e.Details}
	}
	b.FBTraceID = e.FBTraceID
	if b.FBTraceID == "" {
		b.FBTraceID = "AbCdEfTestTrace"
	}
	out, _ := json.Marshal(body)
	return string(out)
}
