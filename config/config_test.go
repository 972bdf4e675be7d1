package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"switchboard/routing"
)

// env returns a getenv that reads m.
func env(m map[string]string) func(string) string {
	return func(name string) string { return m[name] }
}

func TestExampleRunsWithoutEnvironment(t *testing.T) {
	cfg, err := Load("example.yaml", env(nil))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}

	wa, ok := cfg.Channel("wa-main")
	if !ok {
		t.Fatal(`Channel("wa-main") not found`)
	}
	if wa.Type != WhatsApp || wa.PlatformID() != "106540352242922" {
		t.Errorf("wa-main: type %q, platform id %q", wa.Type, wa.PlatformID())
	}
	if got := wa.AppSecret.Reveal(); got != "dev-wa-app-secret" {
		t.Errorf("wa-main app_secret = %q, want the ${WA_APP_SECRET:-...} default", got)
	}
	if got := wa.Hours.Location.String(); got != "America/Argentina/Buenos_Aires" {
		t.Errorf("wa-main location = %q", got)
	}
	saturday := []routing.Range{{Start: 10 * 60, End: 13 * 60}}
	if diff := cmp.Diff(saturday, wa.Hours.Weekly.On(time.Saturday)); diff != "" {
		t.Errorf("wa-main saturday (-want +got):\n%s", diff)
	}
	if got := wa.Hours.Weekly.On(time.Sunday); got != nil {
		t.Errorf("wa-main sunday = %v, want closed", got)
	}
	closed := []routing.Date{{Year: 2026, Month: time.December, Day: 25}, {Year: 2027, Month: time.January, Day: 1}}
	if diff := cmp.Diff(closed, wa.Hours.Closed); diff != "" {
		t.Errorf("wa-main closed (-want +got):\n%s", diff)
	}
	if d := wa.Derivation; d.AfterHours != AfterHoursAsk || d.Direct || d.InactivityTimeout != 24*time.Hour {
		t.Errorf("wa-main derivation = %+v", d)
	}
	if got := wa.Derivation.Messages.Closed; got != defaultMessages.Closed {
		t.Errorf("wa-main closed message = %q, want the default", got)
	}

	fb, ok := cfg.ChannelByPlatformID(Messenger, "110000000000001")
	if !ok || fb.ID != "fb-page" {
		t.Fatalf("ChannelByPlatformID(messenger, page) = %v, %v", fb, ok)
	}
	friday := fb.Hours.Weekly.On(time.Friday)
	if len(friday) != 2 || !friday[1].CrossesMidnight() {
		t.Errorf("fb-page friday = %v, want a second range crossing midnight", friday)
	}
	if ig := cfg.ChannelsOfType(Instagram); len(ig) != 1 || ig[0].Hours != nil {
		t.Errorf("instagram channels = %v, want one always open", ig)
	}

	if ana, ok := cfg.Agent("ana"); !ok || ana.Token.Reveal() != "dev-ana-token" || !ana.Serves("ig-shop") {
		t.Errorf(`Agent("ana") = %+v, %v`, ana, ok)
	}
	if bruno, ok := cfg.Agent("bruno"); !ok || bruno.Serves("fb-page") || bruno.MaxConversations != 5 {
		t.Errorf(`Agent("bruno") = %+v, %v`, bruno, ok)
	}
	if !cfg.Redis.Embedded() {
		t.Error("example redis is not embedded with an empty environment")
	}
}

// productionEnv sets every variable of example.yaml for a real Redis.
func productionEnv() map[string]string {
	m := map[string]string{"REDIS_URL": "redis://cache:6379/1", "LISTEN": ":8080"}
	for _, name := range []string{"ADMIN_TOKEN", "AGENT_ANA_TOKEN", "AGENT_BRUNO_TOKEN",
		"WA_APP_SECRET", "WA_VERIFY_TOKEN", "WA_ACCESS_TOKEN", "FB_APP_SECRET", "FB_VERIFY_TOKEN",
		"FB_ACCESS_TOKEN", "IG_APP_SECRET", "IG_VERIFY_TOKEN", "IG_ACCESS_TOKEN"} {
		m[name] = strings.ToLower(name) + "-0123456789abcdef"
	}
	// bcrypt hashes of passwords of this test's own (cost 4).
	m["AGENT_ANA_PASSWORD_HASH"] = "$2a$04$6EbK.BoPW4B0yoFBf5Z4N.mbJa7Cy6DeliXPhm1zbXdlD/ZfgJeG."
	m["AGENT_BRUNO_PASSWORD_HASH"] = "$2a$04$6EbK.BoPW4B0yoFBf5Z4N.mbJa7Cy6DeliXPhm1zbXdlD/ZfgJeG."
	return m
}

func TestExampleTakesEnvironment(t *testing.T) {
	environment := productionEnv()
	environment["WA_APP_SECRET"] = "from-env-0123456789abcdef"
	cfg, err := Load("example.yaml", env(environment))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got := cfg.Redis.URL.Reveal(); got != "redis://cache:6379/1" {
		t.Errorf("redis.url = %q", got)
	}
	wa, _ := cfg.Channel("wa-main")
	if got := wa.AppSecret.Reveal(); got != "from-env-0123456789abcdef" {
		t.Errorf("wa-main app_secret = %q, want the environment's", got)
	}
}

func TestDefaults(t *testing.T) {
	cfg, err := Load("testdata/minimal.yaml", nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := &Config{
		Listen:          ":8080",
		ShutdownTimeout: 10 * time.Second,
		Log:             Log{Level: "info", Format: "json"},
		Redis:           Redis{Prefix: "gw:", WaitTimeout: time.Second},
		Meta:            Meta{GraphURL: "https://graph.facebook.com/v24.0", RateLimit: 80, SendTimeout: 10 * time.Second},
		Engine:          Engine{Workers: 20, SweepInterval: time.Minute, DedupeTTL: 48 * time.Hour, RetryBase: time.Second, SendAttempts: 10, MaxBacklog: 50_000},
		Sessions:        Sessions{TTL: 12 * time.Hour},
		AdminToken:      "admin-secret",
		Bot: Bot{
			Type:            BotKeywords,
			Timeout:         5 * time.Second,
			HandoffKeywords: []string{"agent", "human"},
			Greeting:        defaultGreeting,
			Fallback:        defaultFallback,
		},
		Channels: []Channel{{
			ID:            "wa",
			Type:          WhatsApp,
			PhoneNumberID: "1",
			AppSecret:     "app-secret",
			VerifyToken:   "verify-secret",
			AccessToken:   "access-secret",
			GraphURL:      "https://graph.facebook.com/v24.0",
			RateLimit:     80,
			Language:      "en",
			Derivation: Derivation{
				Target:            TargetLive,
				AfterHours:        AfterHoursAsk,
				InactivityTimeout: 24 * time.Hour,
				YesWords:          []string{"yes", "y", "si", "sim", "oui", "ok", "okay", "wait"},
				NoWords:           []string{"no", "n", "nao", "non", "nope"},
				Messages:          defaultMessages,
				NoAgentOnline:     "wait",
				FollowUpKeep:      7 * 24 * time.Hour,
			},
		}},
		Retention: Retention{Ended: 30 * 24 * time.Hour},
	}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("minimal config (-want +got):\n%s", diff)
	}
}

func TestProblems(t *testing.T) {
	tests := []struct {
		file string
		env  map[string]string
		want []string
	}{{
		file: "unknown_keys.yaml",
		want: []string{
			`testdata/unknown_keys.yaml:3: listn: unknown key (known keys: listen, tls, shutdown_timeout, log, redis, meta, engine, agents, sessions, admin_token, bot, channels, debug, labels, canned_responses, retention, privacy)`,
			`testdata/unknown_keys.yaml:6: log.colour: unknown key (known keys: level, format)`,
			`testdata/unknown_keys.yaml:7: x-derivation: unknown key (known keys: listen, tls, shutdown_timeout, log, redis, meta, engine, agents, sessions, admin_token, bot, channels, debug, labels, canned_responses, retention, privacy)`,
			`testdata/unknown_keys.yaml:19: channels[0].hours.weekly.monday: unknown key (known keys: mon, tue, wed, thu, fri, sat, sun)`,
			`testdata/unknown_keys.yaml:22: channels[0].derivation.messages.welcome: unknown key (known keys: offer, yes, no, attention, declined, transferred, already_waiting, agent_available, off_hours, kept_for_agent, assigned, closed, handed_back, left_line, back_to_bot, thanks_csat, erase_confirm, erase_yes, erase_no, erased, offer_beyond_window, transferred_to)`,
			`testdata/unknown_keys.yaml:29: channels[1].access_token: duplicate key (first at line 28)`,
			`testdata/unknown_keys.yaml:31: channels[1].derivation.<<: merge keys are not supported: use an alias (*name) for the whole value`,
		},
	}, {
		file: "types.yaml",
		want: []string{
			`testdata/types.yaml:2: shutdown_timeout: "soon" is not a duration (such as 7d, 24h, 2s or 500ms)`,
			`testdata/types.yaml:4: engine.workers: "many" is not an integer`,
			`testdata/types.yaml:5: engine.sweep_interval: "10" is not a duration (such as 7d, 24h, 2s or 500ms)`,
			`testdata/types.yaml:6: bot: want a mapping (key: value), got a list`,
			`testdata/types.yaml:10: agents[0].channels: want a list, got a single value`,
			`testdata/types.yaml:11: agents[0].max_conversations: "2.5" is not an integer`,
			`testdata/types.yaml:16: channels[0].app_secret: want a string, got a list`,
			`testdata/types.yaml:19: channels[0].human_agent_tag: "maybe" is not true or false`,
			`testdata/types.yaml:23: channels[0].hours.weekly.mon: "9-18" is not a HH:MM-HH:MM range (00:00 to 24:00)`,
			`testdata/types.yaml:24: channels[0].hours.weekly.tue: want a list, got a single value`,
			`testdata/types.yaml:25: channels[0].hours.weekly.wed: range 09:00-09:00 starts and ends at the same time`,
			`testdata/types.yaml:25: channels[0].hours.weekly.wed: "24:00-25:00" is not a HH:MM-HH:MM range (00:00 to 24:00)`,
			`testdata/types.yaml:26: channels[0].hours.closed: "2026-02-30" is not a YYYY-MM-DD date`,
			`testdata/types.yaml:26: channels[0].hours.closed: "tomorrow" is not a YYYY-MM-DD date`,
			`testdata/types.yaml:28: channels[0].hours.special.2026-13-01: "2026-13-01" is not a YYYY-MM-DD date`,
			`testdata/types.yaml:29: channels[0].hours.special.2026-12-24: "10:00 - 12:00" is not a HH:MM-HH:MM range (00:00 to 24:00)`,
		},
	}, {
		file: "channels.yaml",
		want: []string{
			`testdata/channels.yaml:10: channels[0].page_id: a whatsapp channel has no page_id`,
			`testdata/channels.yaml:11: channels[0].app_secret: missing secret: ${WA_APP_SECRET} is unset or empty`,
			`testdata/channels.yaml:12: channels[0].verify_token: missing secret: ${WA_VERIFY_TOKEN} is unset or empty`,
			`testdata/channels.yaml:14: channels[0].human_agent_tag: only messenger and instagram channels have it`,
			`testdata/channels.yaml:16: channels[0].hours.timezone: unknown time zone "Mars/Olympus_Mons"`,
			`testdata/channels.yaml:17: channels[1].id: duplicate channel id "wa" (first at line 7)`,
			`testdata/channels.yaml:19: channels[1].phone_number_id: duplicate phone_number_id "1" (first at line 9)`,
			`testdata/channels.yaml:23: channels[1].graph_url: "graph.local" is not an http:// or https:// URL`,
			`testdata/channels.yaml:24: channels[1].rate_limit: -5 is below the minimum of 1`,
			`testdata/channels.yaml:25: channels[1].hours.timezone: missing: an IANA time zone such as America/Argentina/Buenos_Aires`,
			`testdata/channels.yaml:28: channels[2].id: "Bad.Id" is not a valid channel id: use a-z, 0-9, _ and -, starting with a letter or digit`,
			`testdata/channels.yaml:29: channels[2].type: unknown channel type "telegram" (want whatsapp, messenger or instagram)`,
			`testdata/channels.yaml:33: channels[3].page_id: missing: a messenger channel needs it`,
			`testdata/channels.yaml:39: channels[3].derivation.target: unknown target "webhook" (want live)`,
			`testdata/channels.yaml:40: channels[3].derivation.after_hours: ask (offer to wait) is allowed only with target live on an asynchronous channel (whatsapp, messenger, instagram); use reject`,
			`testdata/channels.yaml:41: channels[3].derivation.inactivity_timeout: -1h is below the minimum of 1s`,
			`testdata/channels.yaml:42: channels[3].derivation.ack_interval: -1s is below the minimum of 1s`,
			`testdata/channels.yaml:50: channels[4].derivation.after_hours: "later" is not ask or reject`,
		},
	}, {
		file: "agents.yaml",
		want: []string{
			`testdata/agents.yaml:5: agents[0].channels: unknown channel "wa-mian"`,
			`testdata/agents.yaml:6: agents[1].id: duplicate agent id "ana" (first at line 3)`,
			`testdata/agents.yaml:7: agents[1].token: same token as agents[0]`,
			`testdata/agents.yaml:9: agents[2].id: "Bruno" is not a valid agent id: use a-z, 0-9, _ and -, starting with a letter or digit`,
			`testdata/agents.yaml:9: agents[2].token: missing secret`,
			`testdata/agents.yaml:10: agents[2].channels: missing: list the ids of the channels the agent serves`,
			`testdata/agents.yaml:11: agents[2].max_conversations: -1 is below the minimum of 1`,
			`testdata/agents.yaml:12: agents[3].id: missing`,
			`testdata/agents.yaml:13: agents[3].token: missing secret: ${NOBODY_TOKEN} is unset or empty`,
			`testdata/agents.yaml:16: agents[3].channels: unknown channel "ig"`,
		},
	}, {
		file: "top.yaml",
		want: []string{
			`testdata/top.yaml:1: listen: "localhost" is not host:port (such as :8080 or 127.0.0.1:8080)`,
			`testdata/top.yaml:1: admin_token: missing secret`,
			`testdata/top.yaml:1: channels: no channel configured`,
			`testdata/top.yaml:3: log.level: "verbose" is not debug, info, warn or error`,
			`testdata/top.yaml:4: log.format: "xml" is not json or text`,
			`testdata/top.yaml:6: redis.url: "http://:xxxxx@cache.internal:6379/0" is not a redis:// or rediss:// URL`,
			`testdata/top.yaml:7: redis.prefix: "{gw}:" may not contain { or }: keys use them as cluster hash tags`,
			`testdata/top.yaml:9: meta.graph_url: "not a url" is not an http:// or https:// URL`,
			`testdata/top.yaml:10: meta.send_timeout: -10s is below the minimum of 10ms`,
			`testdata/top.yaml:11: bot.url: missing: an http bot needs it`,
			`testdata/top.yaml:11: bot.secret: missing secret`,
			`testdata/top.yaml:15: bot.answers[0].text: missing`,
			`testdata/top.yaml:16: bot.answers[1].keywords: missing`,
		},
	}, {
		file: "bad_expansion.yaml",
		want: []string{
			`testdata/bad_expansion.yaml:1: admin_token: unterminated ${: close it with }, or write $$ for a literal $`,
			`testdata/bad_expansion.yaml:2: listen: bad ${...}: a variable name is letters, digits and _, not starting with a digit`,
			`testdata/bad_expansion.yaml:7: channels[0].app_secret: missing secret: ${WA_APP_SECRET}, ${WA_APP_SECRET_SUFFIX} are unset or empty`,
		},
	}, {
		file: "syntax.yaml",
		want: []string{
			`testdata/syntax.yaml:2: did not find expected '-' indicator`,
		},
	}, {
		file: "two_documents.yaml",
		want: []string{
			`testdata/two_documents.yaml:2: a configuration file holds one YAML document; this is a second one`,
		},
	}, {
		file: "empty.yaml",
		want: []string{
			`testdata/empty.yaml: admin_token: missing secret`,
			`testdata/empty.yaml: channels: no channel configured`,
		},
	}}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := Load("testdata/"+tt.file, env(tt.env))
			if diff := cmp.Diff(tt.want, problemLines(t, err)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// problemLines returns the lines of err, which must be an *Error whose
// Error() prints its problems one per line.
func problemLines(t *testing.T, err error) []string {
	t.Helper()
	var cfgErr *Error
	if !errors.As(err, &cfgErr) {
		t.Fatalf("error = %v, want an *Error", err)
	}
	lines := make([]string, len(cfgErr.Problems))
	for i, p := range cfgErr.Problems {
		lines[i] = p.String()
	}
	if got := strings.Join(lines, "\n"); got != err.Error() {
		t.Errorf("Error() = %q, want the problems one per line", err.Error())
	}
	return lines
}

func TestProblemFields(t *testing.T) {
	data := []byte("channels:\n  - hours:\n      weekly:\n        mon: [\"9-18\"]\n")
	_, err := Parse("config/example.yaml", data, nil)
	var cfgErr *Error
	if !errors.As(err, &cfgErr) {
		t.Fatalf("Parse: %v, want an *Error", err)
	}
	want := Problem{File: "config/example.yaml", Line: 4, Path: "channels[0].hours.weekly.mon", Message: `"9-18" is not a HH:MM-HH:MM range (00:00 to 24:00)`}
	for _, p := range cfgErr.Problems {
		if p == want {
			return
		}
	}
	t.Errorf("problems %v lack %v", cfgErr.Problems, want)
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/no-such-file.yaml", nil)
	var cfgErr *Error
	if !errors.Is(err, os.ErrNotExist) || errors.As(err, &cfgErr) {
		t.Errorf("Load of a missing file = %v, want a not-exist error that is not an *Error", err)
	}
}

func TestExpansionInConfig(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		check func(t *testing.T, cfg *Config)
	}{{
		name: "defaults",
		env:  map[string]string{"ADMIN_TOKEN": "admin"},
		check: func(t *testing.T, cfg *Config) {
			if cfg.Listen != "127.0.0.1:8080" {
				t.Errorf("listen = %q, want two defaults joined", cfg.Listen)
			}
			if cfg.Engine.Workers != 7 || cfg.Engine.SweepInterval != 30*time.Second {
				t.Errorf("engine = %+v, want workers and sweep from defaults", cfg.Engine)
			}
			want := []string{"agent", "human", "${literal}", "price $5"}
			if diff := cmp.Diff(want, cfg.Bot.HandoffKeywords); diff != "" {
				t.Errorf("handoff_keywords (-want +got):\n%s", diff)
			}
			if cfg.Bot.Greeting != defaultGreeting {
				t.Errorf("greeting = %q, want an unset ${GREETING} to take the default", cfg.Bot.Greeting)
			}
			if ch := cfg.Channels[0]; ch.PhoneNumberID != "1" || ch.Derivation.Direct {
				t.Errorf("channel = %+v", ch)
			}
		},
	}, {
		name: "environment",
		env: map[string]string{
			"ADMIN_TOKEN": "admin",
			"HOST":        "",
			"PORT":        "9090",
			"WORKERS":     "3",
			"HANDOFF":     "humano",
			"GREETING":    "Hola",
			"WA_PHONE_ID": "555",
			"WA_DIRECT":   "true",
		},
		check: func(t *testing.T, cfg *Config) {
			if cfg.Listen != "127.0.0.1:9090" {
				t.Errorf("listen = %q, want an empty HOST to take its default", cfg.Listen)
			}
			if cfg.Engine.Workers != 3 {
				t.Errorf("workers = %d, want 3", cfg.Engine.Workers)
			}
			if cfg.Bot.HandoffKeywords[0] != "humano" || cfg.Bot.Greeting != "Hola" {
				t.Errorf("bot = %+v", cfg.Bot)
			}
			if ch := cfg.Channels[0]; ch.PhoneNumberID != "555" || !ch.Derivation.Direct {
				t.Errorf("channel = %+v", ch)
			}
		},
	}, {
		name: "a value that looks like YAML stays a string",
		env:  map[string]string{"ADMIN_TOKEN": "admin", "GREETING": "a: b\n- [c]\nlisten: :1"},
		check: func(t *testing.T, cfg *Config) {
			if cfg.Bot.Greeting != "a: b\n- [c]\nlisten: :1" || cfg.Listen != "127.0.0.1:8080" {
				t.Errorf("greeting %q, listen %q: the variable changed the structure", cfg.Bot.Greeting, cfg.Listen)
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load("testdata/expansion.yaml", env(tt.env))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			tt.check(t, cfg)
		})
	}
}

func TestExpand(t *testing.T) {
	getenv := env(map[string]string{"A": "alpha", "EMPTY": ""})
	tests := []struct {
		in       string
		want     string
		wantVars []string
		wantErr  error
	}{
		{in: "plain", want: "plain"},
		{in: "${A}", want: "alpha", wantVars: []string{"A"}},
		{in: "x-${A}-${A}", want: "x-alpha-alpha", wantVars: []string{"A", "A"}},
		{in: "${UNSET}", want: "", wantVars: []string{"UNSET"}},
		{in: "${UNSET:-dev}", want: "dev", wantVars: []string{"UNSET"}},
		{in: "${EMPTY:-dev}", want: "dev", wantVars: []string{"EMPTY"}},
		{in: "${A:-dev}", want: "alpha", wantVars: []string{"A"}},
		{in: "${UNSET:-}", want: "", wantVars: []string{"UNSET"}},
		{in: "${UNSET:-a:-b}", want: "a:-b", wantVars: []string{"UNSET"}},
		{in: "$${A}", want: "${A}"},
		{in: "$$$$", want: "$$"},
		{in: "cost $5, $", want: "cost $5, $"},
		{in: "${A", wantErr: errUnterminated},
		{in: "${}", wantErr: errBadVariable},
		{in: "${9A}", wantErr: errBadVariable},
		{in: "${A-B}", wantErr: errBadVariable},
	}
	for _, tt := range tests {
		got, vars, err := expand(tt.in, getenv)
		if err != tt.wantErr || got != tt.want || !cmp.Equal(vars, tt.wantVars) {
			t.Errorf("expand(%q) = %q, %q, %v; want %q, %q, %v", tt.in, got, vars, err, tt.want, tt.wantVars, tt.wantErr)
		}
	}
}

// secretEnv sets every secret of testdata/expansion.yaml to a recognizable value.
var secretEnv = map[string]string{
	"ADMIN_TOKEN":     "admin-7f3a9",
	"WA_APP_SECRET":   "app-secret-91c2",
	"WA_VERIFY_TOKEN": "verify-token-44d1",
	"WA_ACCESS_TOKEN": "access-token-e8b0",
}

func TestSecretsNeverPrinted(t *testing.T) {
	cfg, err := Load("testdata/expansion.yaml", env(secretEnv))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	cfg.Redis.URL = "redis://:redis-pass-5e6f@cache:6379/0"
	secrets := []string{"redis-pass-5e6f"}
	for _, s := range secretEnv {
		secrets = append(secrets, s)
	}

	outputs := map[string]string{
		"%v":   fmt.Sprintf("%v", cfg),
		"%+v":  fmt.Sprintf("%+v", *cfg),
		"%#v":  fmt.Sprintf("%#v", *cfg),
		"%s":   fmt.Sprintf("%s", cfg.AdminToken),
		"%q":   fmt.Sprintf("%q", cfg.AdminToken),
		"%x":   fmt.Sprintf("%x", cfg.AdminToken),
		"%d":   fmt.Sprintf("%d", cfg.AdminToken),
		"json": mustJSON(t, cfg),
		"yaml": mustYAML(t, cfg),
	}
	for name, handler := range map[string]func(*bytes.Buffer) slog.Handler{
		"slog json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		"slog text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
	} {
		var b bytes.Buffer
		logger := slog.New(handler(&b))
		logger.Info("loaded", "config", cfg, "channel", cfg.Channels[0], "token", cfg.AdminToken)
		outputs[name] = b.String()
	}

	for name, out := range outputs {
		if !strings.Contains(out, redacted) {
			t.Errorf("%s output lacks %s: %s", name, redacted, out)
		}
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s output holds secret %q: %s", name, s, out)
			}
		}
	}
	if !strings.Contains(outputs["slog text"], "cache:6379") {
		t.Errorf("slog summary lacks the redis host: %s", outputs["slog text"])
	}
}

func TestSecretsNeverInProblems(t *testing.T) {
	data := []byte(`
admin_token: same-7f3a9
redis:
  url: "http://:redis-pass-5e6f@cache/0"
agents:
  - id: ana
    token: same-7f3a9
    channels: [wa]
  - id: bruno
    token: same-7f3a9
    channels: [wa]
channels:
  - id: wa
    type: whatsapp
    phone_number_id: "1"
    app_secret: "${UNTERMINATED-secret-91c2"
    verify_token: "${1secret-44d1}"
    access_token: {value: secret-e8b0}
`)
	_, err := Parse("inline.yaml", data, nil)
	if err == nil {
		t.Fatal("Parse accepted a broken configuration")
	}
	for _, s := range []string{"7f3a9", "redis-pass-5e6f", "91c2", "44d1", "e8b0"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("problems hold secret %q:\n%v", s, err)
		}
	}
	if !strings.Contains(err.Error(), "agents[1].token: same token as agents[0]") {
		t.Errorf("problems lack the duplicate token:\n%v", err)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	return string(b)
}

func mustYAML(t *testing.T, v any) string {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatalf("yaml.Marshal: %v", err)
	}
	return string(b)
}

func TestNotifyProblems(t *testing.T) {
	_, err := Load("testdata/notify.yaml", env(map[string]string{}))
	want := []string{
		`testdata/notify.yaml:10: channels[0].notify: set webhook, email, zendesk or several`,
		`testdata/notify.yaml:20: channels[1].notify.webhook.url: "ftp://x" is not an http:// or https:// URL`,
		`testdata/notify.yaml:21: channels[1].notify.webhook.secret: missing secret: ${HOOK_SECRET} is unset or empty`,
		`testdata/notify.yaml:22: channels[1].notify.email.password: username and password go together`,
		`testdata/notify.yaml:23: channels[1].notify.email.addr: "smtp.example.com" is not host:port (such as smtp.example.com:587)`,
		`testdata/notify.yaml:25: channels[1].notify.email.from: "Support <a@b>" is not an email address`,
		`testdata/notify.yaml:26: channels[1].notify.email.to: "not-an-address" is not an email address`,
	}
	if diff := cmp.Diff(want, problemLines(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestNotifyDefaults(t *testing.T) {
	data := []byte(`admin_token: a
channels:
  - id: wa
    type: whatsapp
    phone_number_id: "1"
    app_secret: s
    verify_token: v
    access_token: t
    consent: "We keep your number to answer you."
    notify:
      on_offline_agent_message: true
      webhook: {url: "https://hooks.example.com/x", secret: hs}
      email: {addr: "smtp.example.com:587", username: u, password: p, from: "gw@example.com", to: [ops@example.com]}
`)
	cfg, err := Parse("inline.yaml", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	ch := cfg.Channels[0]
	n := ch.Notify
	if ch.Consent == "" || !n.OnOfflineAgentMessage || n.TranscriptEntries != 20 || n.Webhook.Timeout != 10*time.Second ||
		n.Email.Timeout != 10*time.Second || n.Email.Subject != "[switchboard] {channel}: {event}" || n.Email.Password.Reveal() != "p" {
		t.Errorf("notify = %+v, webhook %+v, email %+v", n, n.Webhook, n.Email)
	}
}

func TestRestartRequired(t *testing.T) {
	base, err := Load("testdata/minimal.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	next, _ := Load("testdata/minimal.yaml", nil)
	next.Channels[0].Derivation.Messages.Transferred = "changed"
	next.Log.Level = "debug"
	if got := RestartRequired(base, next); len(got) != 0 {
		t.Errorf("RestartRequired = %v for runtime settings, want none", got)
	}
	next.Listen, next.Redis.URL, next.Engine.Workers = ":9090", "redis://x:6379/0", 3
	want := []string{"listen", "redis.url", "engine.workers"}
	if diff := cmp.Diff(want, RestartRequired(base, next)); diff != "" {
		t.Errorf("RestartRequired (-want +got):\n%s", diff)
	}
}
