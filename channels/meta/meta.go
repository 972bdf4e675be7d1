// Package meta holds what WhatsApp Cloud API, Messenger and Instagram
// Messaging share: the webhook handshake and X-Hub-Signature-256 check, the
// Graph API client (JSON calls, streamed multipart uploads, media look-ups)
// with its one error classifier, text splitting to the platforms' limits,
// and the Messenger Platform webhook and Send API formats that Messenger and
// Instagram both speak.
//
// It imports only channels of this module, plus the standard library and
// golang.org/x/time/rate. Its wire structs never leave channels/...: what it
// exports speaks in channels types.
package meta

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"switchboard/channels"
)

// Timestamp is a Meta webhook timestamp. It decodes a JSON number or string,
// in seconds or milliseconds (values below 1e12 are seconds). It never fails
// to decode: anything unreadable, or outside the years 1970-9999, is the zero
// time, so that one odd field cannot reject a whole batch.
type Timestamp struct{ time.Time }

// UnmarshalJSON implements json.Unmarshaler.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	t.Time = time.Time{}
	f, err := strconv.ParseFloat(strings.Trim(string(b), `"`), 64)
	if err != nil || math.IsNaN(f) || f <= 0 || f >= 1e15 {
		return nil
	}
	if f < 1e12 {
		sec, frac := math.Modf(f)
		t.Time = time.Unix(int64(sec), int64(frac*1e9)).UTC()
	} else {
		t.Time = time.UnixMilli(int64(f)).UTC()
	}
	if t.Year() > 9999 {
		t.Time = time.Time{}
	}
	return nil
}

// FirstTime returns the first non-zero time of ts, or the zero time. Parsers
// use it to fall back from an event's timestamp to its entry's, then to now.
func FirstTime(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// Envelope is the head every webhook body starts with: embedded in a
// platform's body type, it lets DecodeEnvelope read "object" in the same
// pass as the rest.
type Envelope struct {
	Object string `json:"object"`
}

func (e *Envelope) envelope() *Envelope { return e }

// envelope is a body type that embeds Envelope.
type envelope interface{ envelope() *Envelope }

// DecodeEnvelope checks that body is a JSON object whose "object" is object,
// and decodes it into v. It returns an error wrapping channels.ErrMalformed
// for invalid JSON or a body that does not fit v, and one wrapping
// channels.ErrWrongObject when "object" differs, whether or not the rest
// would fit.
func DecodeEnvelope(body []byte, object string, v envelope) error {
	err := json.Unmarshal(body, v)
	if err == nil {
		if got := v.envelope().Object; got != object {
			return wrongObject(got, object)
		}
		return nil
	}
	// It does not fit: another platform's body is named as such.
	var head Envelope
	if json.Unmarshal(body, &head) == nil && head.Object != object {
		return wrongObject(head.Object, object)
	}
	return malformed(err)
}

func wrongObject(got, want string) error {
	return fmt.Errorf("%w: got %.40q, want %q", channels.ErrWrongObject, got, want)
}

func malformed(err error) error { return fmt.Errorf("%w: %v", channels.ErrMalformed, err) }
