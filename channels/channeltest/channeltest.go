// Package channeltest is the test suite every channel adapter must pass.
// Adapter packages call RunParser and RunSender (which runs RunUploader)
// from their own tests, and reuse CheckParse for their fuzz targets;
// RunSender sends to the fake Graph API of internal/testkit, which adapter
// tests use directly as well.
//
// It imports only channels and internal/testkit of this module, plus the
// standard library.
package channeltest

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"switchboard/channels"
)

var update = flag.Bool("update", false, "rewrite the golden files of channeltest.RunParser")

// Fixture is one webhook body from a testdata directory.
type Fixture struct {
	Name string // file name without ".json"
	Body []byte
}

// Fixtures reads every *.json file of dir; it fails the test when there is
// none.
func Fixtures(t testing.TB, dir string) []Fixture {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures in %s (%v)", dir, err)
	}
	var out []Fixture
	for _, path := range paths {
		body, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, Fixture{Name: strings.TrimSuffix(filepath.Base(path), ".json"), Body: body})
	}
	return out
}

// RunParser runs the parser suite over the fixtures in dir: each parses
// without error into events that all carry an ID (unique in the body),
// Platform, Account, Kind and Timestamp, and that match the golden file
// <name>.golden beside it (rewritten with -update); no truncated or garbled
// fixture makes Parse panic or fail with anything but ErrMalformed or
// ErrWrongObject; a foreign object gives ErrWrongObject and invalid JSON
// ErrMalformed.
func RunParser(t *testing.T, p channels.Parser, dir string) {
	fixtures := Fixtures(t, dir)
	t.Run("golden", func(t *testing.T) {
		for _, f := range fixtures {
			t.Run(f.Name, func(t *testing.T) {
				events, err := p.Parse(f.Body)
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if len(events) == 0 {
					t.Fatal("no events")
				}
				checkEvents(t, p, events, true)
				compareGolden(t, filepath.Join(dir, f.Name+".golden"), events)
			})
		}
	})
	t.Run("truncated", func(t *testing.T) {
		for _, f := range fixtures {
			for n := 0; n < len(f.Body); n += step(len(f.Body)) {
				CheckParse(t, p, f.Body[:n])
			}
		}
	})
	t.Run("garbled", func(t *testing.T) {
		for _, f := range fixtures {
			for i := 0; i < len(f.Body); i += step(len(f.Body)) {
				for _, c := range []byte(`"{}[]:,0x` + "\x00\xff") {
					garbled := bytes.Clone(f.Body)
					garbled[i] = c
					CheckParse(t, p, garbled)
				}
			}
		}
	})
	t.Run("wrong object", func(t *testing.T) {
		for _, body := range []string{
			`{"object":"not_a_platform","entry":[{"id":"1","changes":[],"messaging":[]}]}`,
			`{"object":"not_a_platform","entry":"of another shape"}`, // named, though it does not fit
			`{"entry":[]}`,
			`null`,
		} {
			if _, err := p.Parse([]byte(body)); !errors.Is(err, channels.ErrWrongObject) {
				t.Errorf("Parse(%s) = %v, want ErrWrongObject", body, err)
			}
		}
	})
	t.Run("malformed", func(t *testing.T) {
		for _, body := range []string{``, `{`, `not json`, `[1,2]`, `{"object":1}`, `"object"`} {
			if _, err := p.Parse([]byte(body)); !errors.Is(err, channels.ErrMalformed) {
				t.Errorf("Parse(%q) = %v, want ErrMalformed", body, err)
			}
		}
	})
}

// step spreads about 400 probes over a body of n bytes.
func step(n int) int { return max(1, n/400) }

// CheckParse parses an arbitrary body: Parse must not panic, may only fail
// with ErrMalformed or ErrWrongObject, and every event it returns must have
// an ID, the parser's Platform, a Kind and a Timestamp, and marshal to JSON.
// Fuzz targets call it.
func CheckParse(t testing.TB, p channels.Parser, body []byte) {
	t.Helper()
	events, err := p.Parse(body)
	if err != nil {
		if !errors.Is(err, channels.ErrMalformed) && !errors.Is(err, channels.ErrWrongObject) {
			t.Fatalf("Parse(%q): unexpected error %v", body, err)
		}
		return
	}
	checkEvents(t, p, events, false)
}

// checkEvents checks the event invariants; fixtures must also carry an
// Account and ids unique in the body.
func checkEvents(t testing.TB, p channels.Parser, events []channels.Event, fixture bool) {
	t.Helper()
	seen := make(map[string]bool)
	for i, ev := range events {
		switch {
		case ev.ID == "":
			t.Errorf("event %d: empty ID: %+v", i, ev)
		case ev.Platform != p.Platform():
			t.Errorf("event %d: Platform %q, want %q", i, ev.Platform, p.Platform())
		case ev.Kind == "":
			t.Errorf("event %d: empty Kind: %+v", i, ev)
		case ev.Timestamp.IsZero():
			t.Errorf("event %d: zero Timestamp: %+v", i, ev)
		case fixture && ev.Account == "":
			t.Errorf("event %d: empty Account: %+v", i, ev)
		case fixture && seen[ev.ID]:
			t.Errorf("event %d: duplicate ID %q", i, ev.ID)
		}
		seen[ev.ID] = true
		if _, err := json.Marshal(ev); err != nil {
			t.Errorf("event %d does not marshal: %v", i, err)
		}
	}
}

func compareGolden(t *testing.T, path string, events []channels.Event) {
	t.Helper()
	got, err := json.MarshalIndent(events, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("events differ from %s (run go test -update to accept):\ngot:\n%s", path, got)
	}
}

// AssertJSON fails the test unless got and want are equal JSON values.
func AssertJSON(t testing.TB, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got invalid JSON %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want invalid JSON %s: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("JSON differs\ngot:  %s\nwant: %s", got, want)
	}
}
