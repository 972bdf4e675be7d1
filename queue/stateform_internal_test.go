package queue

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"switchboard/channels"
	"switchboard/routing"
)

// fillAll sets every exported field reachable from v to a value of its
// own, none zero, so that a field the stored form leaves out shows.
func fillAll(t *testing.T, v reflect.Value, n *int) {
	*n++
	switch v.Kind() {
	case reflect.String:
		v.SetString("v" + strings.Repeat("x", *n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(*n))
	case reflect.Float64:
		v.SetFloat(float64(*n) + 0.25)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fillAll(t, v.Elem(), n)
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		v.SetMapIndex(reflect.ValueOf("k"), reflect.ValueOf("v"))
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fillAll(t, s.Index(0), n)
		v.Set(s)
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(time.UnixMilli(1_796_000_000_000 + int64(*n)*1001).UTC()))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fillAll(t, v.Field(i), n)
			}
		}
	default:
		t.Fatalf("fillAll: no value for a %s", v.Type())
	}
}

func TestStateFormKeepsEveryField(t *testing.T) {
	id := ConversationID("wa", "5511999")
	want := &Record{}
	fillAll(t, reflect.ValueOf(want).Elem(), new(int))
	want.ID, want.Channel, want.Version = id, "wa", 7
	for _, sessionID := range []string{id + "-3", "elsewhere-3"} {
		want.Session.ID = sessionID
		data := encodeState(want)
		got, err := decodeRecord(id, "7", data)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("a state read back differs (-written +read):\n%s\nstored: %s", d, data)
		}
	}
}

// loadToolState is the state of a waiting conversation as the load tool
// makes them (loadtest memory).
func loadToolState() *Record {
	id := ConversationID("wa", "550940000001824")
	at := time.UnixMilli(1_796_094_866_000).UTC()
	return &Record{
		Conversation: routing.Conversation{ID: id, Channel: "wa", Platform: channels.WhatsApp,
			User:  channels.User{ID: "550940000001824", Name: "Load User 1824", Phone: "550940000001824"},
			State: routing.StateWaiting, Transferred: true, WaitingSince: at.Add(1948 * time.Millisecond),
			LastUserMessage: at, LastActivity: at, Sessions: 1},
		LastMessage:       &LastMessage{Text: "agent", At: at},
		LastUserMessageID: "wamid.LT550940000001824000001",
	}
}

func TestStateFormIsShort(t *testing.T) {
	rec := loadToolState()
	id := rec.ID
	short := encodeState(rec)
	earlier, _ := json.Marshal(rec) // the earlier form, with the phone
	// The load tool's waiting conversation: 395 bytes the earlier way (369
	// without the phone); at most 188 fits Redis' 192-byte allocation.
	if len(short) > 188 || len(earlier) < 369 {
		t.Errorf("stored state %d bytes, earlier form %d: %s", len(short), len(earlier), short)
	}
	got, err := decodeRecord(id, "1", string(earlier))
	if err != nil {
		t.Fatal(err)
	}
	rec.Version = 1
	if d := cmp.Diff(rec, got); d != "" {
		t.Errorf("a state of the earlier form reads differently (-want +got):\n%s", d)
	}
}

// BenchmarkStateForm encodes and decodes the load tool's waiting
// conversation in the short form and, as the floor to compare with, in
// the earlier JSON form.
func BenchmarkStateForm(b *testing.B) {
	rec := loadToolState()
	id := rec.ID
	b.Run("short", func(b *testing.B) {
		for b.Loop() {
			if _, err := decodeRecord(id, "1", encodeState(rec)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("earlier", func(b *testing.B) {
		for b.Loop() {
			data, _ := json.Marshal(rec)
			if _, err := decodeRecord(id, "1", string(data)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestEntryFormKeepsEveryField(t *testing.T) {
	var want Entry
	fillAll(t, reflect.ValueOf(&want).Elem(), new(int))
	// Filled in when read, never stored.
	want.EventID, want.Delivery, want.DeliveryError = "", "", ""
	got, err := decodeEntry(encodeEntry(want))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("an entry read back differs (-written +read):\n%s", d)
	}
	earlier, _ := json.Marshal(want)
	if got, err := decodeEntry(string(earlier)); err != nil || !cmp.Equal(want, got) {
		t.Errorf("an entry of the earlier form reads as %+v, %v; want %+v", got, err, want)
	}
	// The load tool's user message: 104 bytes the earlier way, 92 now.
	user := Entry{ID: "u_wamid.LT550940000001824000001", At: time.UnixMilli(1_796_094_866_000).UTC(),
		Author: routing.AuthorUser, Kind: "text", Text: "agent"}
	if stored := encodeEntry(user); len(stored) > 92 {
		t.Errorf("stored entry %d bytes: %s", len(stored), stored)
	}
}

func TestSessionRecordFormKeepsEveryField(t *testing.T) {
	var want SessionRecord
	fillAll(t, reflect.ValueOf(&want).Elem(), new(int))
	want.Conversation, want.Channel = "", "" // the stream's key and the id say them
	got, err := decodeSessionRecord(encodeSessionRecord(want))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("a session record read back differs (-written +read):\n%s", d)
	}
}
