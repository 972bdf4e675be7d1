package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestCalendarProblems: what the routing calendar refuses is a config
// error at the range or date at fault, so check refuses what serve does.
func TestCalendarProblems(t *testing.T) {
	_, err := Load("testdata/hours.yaml", nil)
	want := []string{
		`testdata/hours.yaml:13: channels[0].hours.weekly.mon: range 12:00-18:00 overlaps 09:00-13:00`,
		`testdata/hours.yaml:17: channels[0].hours.weekly.tue: duplicate range 09:00-13:00`,
		`testdata/hours.yaml:18: channels[0].hours.weekly.fri: range 23:00-24:00 overlaps 22:00-02:00`,
		`testdata/hours.yaml:20: channels[0].hours.closed: listed twice`,
		`testdata/hours.yaml:22: channels[0].hours.special.2026-12-25: the date is both closed and special: keep one`,
		`testdata/hours.yaml:23: channels[0].hours.special.2026-12-24: range 10:00-11:00 overlaps 09:00-13:00`,
		`testdata/hours.yaml:31: channels[1].hours.timezone: "Local" is the machine's zone, not an IANA name: name the zone, such as America/Argentina/Buenos_Aires`,
		`testdata/hours.yaml:33: channels[1].hours.weekly.mon: duplicate range 09:00-18:00`,
	}
	if diff := cmp.Diff(want, problemLines(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

// TestCalendarBuilt: a valid file's channels carry the calendar routing
// decides with, in the configured zone.
func TestCalendarBuilt(t *testing.T) {
	cfg, err := Load("example.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	wa, _ := cfg.Channel("wa-main")
	cal := wa.Hours.Calendar
	if cal == nil || cal.Location() != wa.Hours.Location || cal.Location().String() != "America/Argentina/Buenos_Aires" {
		t.Fatalf("wa-main calendar = %v, location %v", cal, wa.Hours.Location)
	}
	// Monday 2026-11-23 10:00 in Buenos Aires (UTC-3) is open; Christmas
	// (closed) at the same time is not.
	monday := mustTime(t, "2026-11-23T13:00:00Z")
	christmas := mustTime(t, "2026-12-25T13:00:00Z")
	if !cal.Open(monday) || cal.Open(christmas) {
		t.Errorf("Open(monday 10:00) = %v, Open(christmas 10:00) = %v; want true, false", cal.Open(monday), cal.Open(christmas))
	}
}

func TestBounds(t *testing.T) {
	_, err := Load("testdata/bounds.yaml", nil)
	want := []string{
		`testdata/bounds.yaml:2: shutdown_timeout: 2h is above the maximum of 1h`,
		`testdata/bounds.yaml:5: meta.rate_limit: 2000000 is above the maximum of 1000000`,
		`testdata/bounds.yaml:6: meta.send_timeout: 1ns is below the minimum of 10ms`,
		`testdata/bounds.yaml:8: engine.workers: 2000000000 is above the maximum of 1024 (each worker is a goroutine with its own Redis connection)`,
		`testdata/bounds.yaml:9: engine.sweep_interval: 1ns is below the minimum of 1s (the sweep is scheduled in whole seconds)`,
		`testdata/bounds.yaml:10: engine.dedupe_ttl: 500µs is below the minimum of 1s (it is a Redis expiry, in whole seconds)`,
		`testdata/bounds.yaml:11: engine.retry_base: 2h is above the maximum of 5m (a retry waits at most 5m)`,
		`testdata/bounds.yaml:12: engine.send_attempts: 1000 is above the maximum of 100`,
		`testdata/bounds.yaml:13: engine.max_backlog: 5 is below the minimum of 100`,
		`testdata/bounds.yaml:15: bot.timeout: 1h is above the maximum of 10m`,
		`testdata/bounds.yaml:20: agents[0].max_conversations: 2000000 is above the maximum of 1000000`,
		`testdata/bounds.yaml:28: channels[0].rate_limit: -1 is below the minimum of 1`,
		`testdata/bounds.yaml:30: channels[0].derivation.inactivity_timeout: 500ms is below the minimum of 1s`,
		`testdata/bounds.yaml:31: channels[0].derivation.ack_interval: 200h is above the maximum of 168h`,
		`testdata/bounds.yaml:35: channels[0].derivation.call.timeout: 11m is above the maximum of 10m`,
		`testdata/bounds.yaml:36: channels[0].derivation.call.attempts: 101 is above the maximum of 100`,
		`testdata/bounds.yaml:37: channels[0].derivation.call.max_tries: 21 is above the maximum of 20`,
		`testdata/bounds.yaml:39: channels[0].notify.transcript_entries: 5000 is above the maximum of 1000`,
		`testdata/bounds.yaml:43: channels[0].notify.webhook.timeout: 1µs is below the minimum of 10ms`,
		`testdata/bounds.yaml:48: channels[0].notify.email.timeout: 1h is above the maximum of 10m`,
	}
	if diff := cmp.Diff(want, problemLines(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

// TestBoundsInclusive: the bounds themselves are accepted.
func TestBoundsInclusive(t *testing.T) {
	data := `admin_token: admin-secret
shutdown_timeout: 1s
engine: {workers: 1024, sweep_interval: 1s, dedupe_ttl: 1s, retry_base: 1ms, send_attempts: 1, max_backlog: 100}
channels:
  - {id: wa, type: whatsapp, phone_number_id: "1", app_secret: a, verify_token: v, access_token: x,
     derivation: {inactivity_timeout: 1s, ack_interval: 168h}}
`
	if _, err := Parse("bounds.yaml", []byte(data), nil); err != nil {
		t.Errorf("Parse: %v", err)
	}
}

func TestRedisURL(t *testing.T) {
	tests := []struct {
		url  string
		want string // the problem; empty: none
	}{
		{"redis://cache:6379", ""},
		{"redis://cache:6379/", ""},
		{"redis://:hunter2@cache:6379/15", ""},
		{"rediss://cache:6380/0", ""},
		{"redis://cache:6379/abc", `the path is the database number: /0 or another number from 0 up, not "/abc"`},
		{"redis://cache:6379/-1", `the path is the database number: /0 or another number from 0 up, not "/-1"`},
		{"redis://cache:6379/+1", `the path is the database number: /0 or another number from 0 up, not "/+1"`},
		{"redis://cache:6379/0/1", `the path is the database number: /0 or another number from 0 up, not "/0/1"`},
		{"redis://cache:6379/99999999999999999999", `the path is the database number: /0 or another number from 0 up, not "/99999999999999999999"`},
		{"redis://:hunter2@cache:6379/x", `the path is the database number: /0 or another number from 0 up, not "/x"`},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			_, err := Load("testdata/redis.yaml", env(map[string]string{"REDIS_URL": tt.url}))
			if tt.want == "" {
				if err != nil {
					t.Errorf("Load: %v", err)
				}
				return
			}
			want := []string{"testdata/redis.yaml:3: redis.url: " + tt.want}
			if diff := cmp.Diff(want, problemLines(t, err)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the problem shows the password: %v", err)
			}
		})
	}
}

const (
	publishedProblem = "a development value published in config/example.yaml: with a real Redis (redis.url, redis.cluster or redis.sentinel) use a secret of your own"
	shortProblem     = "shorter than 16 characters: with a real Redis (redis.url, redis.cluster or redis.sentinel) use a long random value, such as the output of openssl rand -hex 16"
)

func TestProductionCredentials(t *testing.T) {
	_, err := Load("testdata/production.yaml", env(map[string]string{"REDIS_URL": "redis://cache:6379/0"}))
	want := []string{
		`testdata/production.yaml:4: admin_token: ` + publishedProblem + ` (set ${ADMIN_TOKEN})`,
		`testdata/production.yaml:8: bot.secret: ` + shortProblem,
		`testdata/production.yaml:11: agents[0].token: ` + publishedProblem,
		`testdata/production.yaml:14: agents[1].token: ` + shortProblem,
		`testdata/production.yaml:23: channels[0].app_secret: ` + publishedProblem,
		`testdata/production.yaml:25: channels[0].access_token: missing secret: ${WA_ACCESS_TOKEN} is unset or empty`,
		`testdata/production.yaml:29: channels[0].notify.webhook.secret: ` + shortProblem,
	}
	if diff := cmp.Diff(want, problemLines(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

// TestDevelopmentCredentials: with the embedded Redis the published and
// short values stay allowed.
func TestDevelopmentCredentials(t *testing.T) {
	if _, err := Load("testdata/production.yaml", env(map[string]string{"WA_ACCESS_TOKEN": "x"})); err != nil {
		t.Errorf("Load with the embedded Redis: %v", err)
	}
}

// TestExampleWithRealRedis: every credential of the example is published,
// so pointing it at a real Redis without setting them fails on each.
func TestExampleWithRealRedis(t *testing.T) {
	_, err := Load("example.yaml", env(map[string]string{"REDIS_URL": "redis://cache:6379/0"}))
	lines := problemLines(t, err)
	paths := []string{"admin_token", "agents[0].token", "agents[0].password_hash", "agents[1].token", "agents[1].password_hash"}
	for _, ch := range []string{"channels[0]", "channels[1]", "channels[2]"} {
		paths = append(paths, ch+".app_secret", ch+".verify_token", ch+".access_token")
	}
	if len(lines) != len(paths) {
		t.Fatalf("%d problems, want %d:\n%s", len(lines), len(paths), err)
	}
	for i, line := range lines {
		if !strings.Contains(line, ": "+paths[i]+": "+publishedProblem+" (set ${") {
			t.Errorf("problem %d = %s, want %s published", i, line, paths[i])
		}
	}
	for value := range publishedCredentials() {
		if strings.Contains(err.Error(), value.Reveal()) {
			t.Errorf("a problem shows the value %q", value.Reveal())
		}
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}
