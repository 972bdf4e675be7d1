package queue

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"switchboard/channels"
	"switchboard/routing"
)

// The stored forms of a conversation's state, its transcript entries and
// its ended sessions' records: a one-byte mark, then JSON with short names
// and times in milliseconds (msBase). The load tool's waiting state is 186
// bytes this way against 369 in Record's own JSON (long names, RFC 3339
// times), which is how all three were stored before and still read: data
// that does not begin with the mark is of that earlier form. Times keep
// millisecond precision, the gateway clock's.
//
// A field added to Record, routing.Conversation, routing.Session, Entry or
// SessionRecord must be added here too; the FormKeepsEveryField tests fail
// until it is.

// storedFormMark begins data of the short form.
const storedFormMark = '2'

// markedJSON is v's JSON behind the mark.
func markedJSON(v any) string { return string(storedFormMark) + mustJSON(v) }

// unmarshalStored reads data into short when it begins with the mark,
// else into earlier, the type whose own JSON the earlier form was; it
// reports which.
func unmarshalStored(data string, short, earlier any) (isShort bool, err error) {
	if data != "" && data[0] == storedFormMark {
		return true, json.Unmarshal([]byte(data[1:]), short)
	}
	return false, json.Unmarshal([]byte(data), earlier)
}

type storedState struct {
	Platform          string         `json:"p"` // platformCodes
	User              storedUser     `json:"u"`
	State             routing.State  `json:"s"`
	Session           *storedSession `json:"se,omitempty"`
	Transferred       bool           `json:"t,omitempty"`
	WaitingSince      *int64         `json:"ws,omitempty"`
	AvailableNotified bool           `json:"an,omitempty"`
	LastAck           *int64         `json:"lk,omitempty"`
	AssignedTo        string         `json:"at,omitempty"`
	LastAgent         string         `json:"lg,omitempty"`
	LastUserMessage   *int64         `json:"lu,omitempty"`
	LastActivity      *int64         `json:"la,omitempty"`
	Sessions          int            `json:"n,omitempty"`
	// Call and Loop are rarely set; they keep their own field names.
	Call              routing.CallState `json:"c,omitzero"`
	PreferredAgent    string            `json:"pa,omitempty"`
	ReleasedBy        string            `json:"rb,omitempty"`
	Loop              routing.LoopState `json:"l,omitzero"`
	MissedAt          *int64            `json:"ma,omitempty"`
	TemplateAt        *int64            `json:"ta,omitempty"`
	LastMessage       *storedMessage    `json:"lm,omitempty"`
	Variables         map[string]string `json:"va,omitempty"`
	Labels            []string          `json:"lb,omitempty"`
	LastUserMessageID string            `json:"li,omitempty"`
}

type storedSession struct {
	// ID is stored without the conversation id it begins with
	// ("<conversation>-<n>" as "-<n>").
	ID         string              `json:"i"`
	Kind       routing.SessionKind `json:"k"`
	Agent      string              `json:"a,omitempty"`
	Start      *int64              `json:"s,omitempty"`
	Declined   bool                `json:"d,omitempty"`
	FirstReply *int64              `json:"f,omitempty"`
}

type storedMessage struct {
	Text string `json:"t"`
	At   *int64 `json:"a,omitempty"`
}

// platformCodes are the platforms' one-letter names in the stored form;
// any other platform is stored by its name.
var platformCodes = map[channels.Platform]string{channels.WhatsApp: "w", channels.Messenger: "m", channels.Instagram: "i"}

func platformCode(p channels.Platform) string {
	if c, ok := platformCodes[p]; ok {
		return c
	}
	return string(p)
}

func platformOfCode(c string) channels.Platform {
	for p, code := range platformCodes {
		if code == c {
			return p
		}
	}
	return channels.Platform(c)
}

// storedUser is channels.User with short names.
type storedUser struct {
	ID    string `json:"i"`
	Name  string `json:"n,omitempty"`
	Phone string `json:"ph,omitempty"`
}

// msBase stores times as milliseconds after a base: 0 (Unix
// milliseconds), or a time most of a record's times are at or a few
// seconds from (the user's last message in a state, the start in a
// session record), which leaves them a few digits. Absent (nil) is the
// zero time.
type msBase int64

// baseAt is the base of a stored time (0 when absent).
func baseAt(ms *int64) msBase {
	if ms == nil {
		return 0
	}
	return msBase(*ms)
}

func (b msBase) rel(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	ms := t.UnixMilli() - int64(b)
	return &ms
}

func (b msBase) abs(ms *int64) time.Time {
	if ms == nil {
		return time.Time{}
	}
	return time.UnixMilli(int64(b) + *ms).UTC()
}

// encodeState is a Record's stored form. A WhatsApp user's phone is
// nearly always the user's id (the wa_id), so it is left out then and
// decodeRecord puts it back.
func encodeState(rec *Record) string {
	lu := msBase(0).rel(rec.LastUserMessage)
	base := baseAt(lu)
	s := storedState{
		Platform: platformCode(rec.Platform), User: storedUser(rec.User), State: rec.State,
		Transferred: rec.Transferred, WaitingSince: base.rel(rec.WaitingSince),
		AvailableNotified: rec.AvailableNotified, LastAck: base.rel(rec.LastAck),
		AssignedTo: rec.AssignedTo, LastAgent: rec.LastAgent,
		LastUserMessage: lu, LastActivity: base.rel(rec.LastActivity),
		Sessions: rec.Sessions, Call: rec.Call, PreferredAgent: rec.PreferredAgent,
		ReleasedBy: rec.ReleasedBy, Loop: rec.Loop, MissedAt: base.rel(rec.MissedAt),
		TemplateAt: base.rel(rec.TemplateAt), Variables: rec.Variables, Labels: rec.Labels,
		LastUserMessageID: rec.LastUserMessageID,
	}
	if u := &s.User; rec.Platform == channels.WhatsApp && isNumber(u.ID) {
		switch u.Phone {
		case u.ID:
			u.Phone = ""
		case "":
			u.Phone = noPhone
		}
	}
	if se := rec.Session; se != nil {
		id := se.ID
		if rest, ok := strings.CutPrefix(id, rec.ID); ok && rec.ID != "" {
			id = rest
		}
		s.Session = &storedSession{ID: id, Kind: se.Kind, Agent: se.Agent, Start: base.rel(se.Start),
			Declined: se.Declined, FirstReply: base.rel(se.FirstReply)}
	}
	if m := rec.LastMessage; m != nil {
		s.LastMessage = &storedMessage{Text: m.Text, At: base.rel(m.At)}
	}
	return markedJSON(&s)
}

// decodeRecord builds a Record from its stored version and state, of
// either form.
func decodeRecord(convID, version, data string) (*Record, error) {
	rec := &Record{}
	rec.ID, rec.Channel = convID, ChannelOf(convID)
	if data == "" {
		return rec, nil
	}
	var stored storedState
	isShort, err := unmarshalStored(data, &stored, rec)
	if err != nil {
		return nil, fmt.Errorf("conversation %s: %w", convID, err)
	}
	if isShort {
		stored.fill(rec)
	}
	rec.Version, _ = strconv.ParseInt(version, 10, 64)
	if u := &rec.User; rec.Platform == channels.WhatsApp {
		switch {
		case u.Phone == noPhone:
			u.Phone = ""
		case u.Phone == "" && isNumber(u.ID):
			u.Phone = u.ID
		}
	}
	return rec, nil
}

// fill sets rec's fields (its ID set) from s.
func (s *storedState) fill(rec *Record) {
	rec.LastUserMessage = msBase(0).abs(s.LastUserMessage)
	base := baseAt(s.LastUserMessage)
	rec.Platform, rec.User, rec.State = platformOfCode(s.Platform), channels.User(s.User), s.State
	rec.Transferred, rec.WaitingSince = s.Transferred, base.abs(s.WaitingSince)
	rec.AvailableNotified, rec.LastAck = s.AvailableNotified, base.abs(s.LastAck)
	rec.AssignedTo, rec.LastAgent, rec.LastActivity = s.AssignedTo, s.LastAgent, base.abs(s.LastActivity)
	rec.Sessions, rec.Call, rec.PreferredAgent = s.Sessions, s.Call, s.PreferredAgent
	rec.ReleasedBy, rec.Loop = s.ReleasedBy, s.Loop
	rec.MissedAt, rec.TemplateAt = base.abs(s.MissedAt), base.abs(s.TemplateAt)
	rec.Variables, rec.Labels, rec.LastUserMessageID = s.Variables, s.Labels, s.LastUserMessageID
	if se := s.Session; se != nil {
		id := se.ID
		if strings.HasPrefix(id, "-") {
			id = rec.ID + id
		}
		rec.Session = &routing.Session{ID: id, Kind: se.Kind, Agent: se.Agent, Start: base.abs(se.Start),
			Declined: se.Declined, FirstReply: base.abs(se.FirstReply)}
	}
	if m := s.LastMessage; m != nil {
		rec.LastMessage = &LastMessage{Text: m.Text, At: base.abs(m.At)}
	}
}

// noPhone is the stored phone of a WhatsApp user whose id is a number but
// who has no phone (not seen from Meta; kept exact all the same).
const noPhone = "-"

// isNumber reports whether s is a non-empty string of digits.
func isNumber(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// A transcript entry is stored the same way, its time in Unix
// milliseconds. Its event id and
// delivery status are not stored (the id and the conversation's hash say
// them). An entry that begins with '{' is of the earlier form, Entry's
// own JSON.
type storedEntry struct {
	ID          string                `json:"i"`
	At          *int64                `json:"t,omitempty"`
	Author      routing.Author        `json:"a"`
	Agent       string                `json:"g,omitempty"`
	Kind        string                `json:"k"`
	Text        string                `json:"x,omitempty"`
	Payload     string                `json:"p,omitempty"`
	Choices     []channels.Choice     `json:"c,omitempty"`
	Attachments []channels.Attachment `json:"m,omitempty"`
	Location    *channels.Location    `json:"l,omitempty"`
}

// encodeEntry is an entry's stored form.
func encodeEntry(e Entry) string {
	return markedJSON(storedEntry{ID: e.ID, At: msBase(0).rel(e.At), Author: e.Author, Agent: e.Agent,
		Kind: e.Kind, Text: e.Text, Payload: e.Payload, Choices: e.Choices, Attachments: e.Attachments, Location: e.Location})
}

// decodeEntry reads a stored entry of either form.
func decodeEntry(raw string) (Entry, error) {
	var e Entry
	var s storedEntry
	if isShort, err := unmarshalStored(raw, &s, &e); !isShort || err != nil {
		return e, err
	}
	return Entry{ID: s.ID, At: msBase(0).abs(s.At), Author: s.Author, Agent: s.Agent, Kind: s.Kind, Text: s.Text,
		Payload: s.Payload, Choices: s.Choices, Attachments: s.Attachments, Location: s.Location}, nil
}

// An ended session's record on the channel's sessions stream is stored
// the same way, its start in Unix milliseconds and its end and first
// reply in milliseconds after the start. The CSAT script sets "c" in it (csat in the earlier form).
type storedSessionRecord struct {
	ID         string              `json:"i"`
	User       string              `json:"u"`
	Kind       routing.SessionKind `json:"k"`
	Agent      string              `json:"g,omitempty"`
	Bot        string              `json:"b,omitempty"`
	Start      *int64              `json:"s,omitempty"`
	End        *int64              `json:"e,omitempty"`
	Resolution routing.Resolution  `json:"r"`
	FirstReply *int64              `json:"f,omitempty"`
	CSAT       int                 `json:"c,omitempty"`
}

// encodeSessionRecord is a session record's stored form; the conversation
// and channel are not stored (the session id and the stream's key say
// them).
func encodeSessionRecord(r SessionRecord) string {
	start := msBase(0).rel(r.Start)
	base := baseAt(start)
	return markedJSON(storedSessionRecord{ID: r.ID, User: r.User, Kind: r.Kind, Agent: r.Agent, Bot: r.Bot,
		Start: start, End: base.rel(r.End), Resolution: r.Resolution, FirstReply: base.rel(r.FirstReply), CSAT: r.CSAT})
}

// decodeSessionRecord reads a stored session record of either form,
// without its conversation and channel.
func decodeSessionRecord(data string) (SessionRecord, error) {
	var r SessionRecord
	var s storedSessionRecord
	if isShort, err := unmarshalStored(data, &s, &r); !isShort || err != nil {
		return r, err
	}
	base := baseAt(s.Start)
	return SessionRecord{ID: s.ID, User: s.User, Kind: s.Kind, Agent: s.Agent, Bot: s.Bot, Start: msBase(0).abs(s.Start),
		End: base.abs(s.End), Resolution: s.Resolution, FirstReply: base.abs(s.FirstReply), CSAT: s.CSAT}, nil
}
