package try

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"switchboard/config"
	"switchboard/queue/redistest"
)

// exampleConfig loads the README's example configuration with no
// environment (its development secrets). withRedis names a Redis of the
// test's own instead of the embedded one.
func exampleConfig(t *testing.T, withRedis bool) *config.Config {
	t.Helper()
	cfg, err := config.Load(filepath.Join("..", "..", "..", "config", "example.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if withRedis {
		// A Cluster or a Sentinel set (SWITCHBOARD_TEST_REDIS) is named as
		// an operator would: its seeds or its Sentinels, not one node.
		switch srv := redistest.Start(t); srv.Kind {
		case "cluster":
			cfg.Redis.Cluster = srv.Cluster
		case "sentinel":
			cfg.Redis.Sentinel = config.Sentinel{Master: redistest.SentinelMaster, Addrs: srv.SentinelAddrs}
		default:
			cfg.Redis.URL = config.Secret(srv.URL)
		}
	}
	return cfg
}

// runTry runs a try session on a script and returns what it printed.
func runTry(t *testing.T, cfg *config.Config, channel, at, script string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out strings.Builder
	err := Run(ctx, cfg, Options{Channel: channel, At: at, In: strings.NewReader(script), Out: &out, Echo: true})
	if err != nil {
		t.Fatalf("Run: %v\noutput:\n%s", err, out.String())
	}
	return out.String()
}

// assertInOrder fails unless each of want occurs in out after the previous one.
func assertInOrder(t *testing.T, out string, want ...string) {
	t.Helper()
	rest := out
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("output lacks %q after the earlier expectations; output:\n%s", w, out)
		}
		rest = rest[i+len(w):]
	}
}

// TestTryAfterHours plays the asynchronous mode on the example's WhatsApp
// channel on a Saturday night: the offer with buttons, a tap on "1", an
// agent coming online, claiming and replying, and 24 h of inactivity
// ending the conversation. It runs with the embedded Redis and with one
// the configuration names.
func TestTryAfterHours(t *testing.T) {
	script := strings.Join([]string{
		"agent", "1", "/queue", "/online", "/claim", "/reply hello", "/state", "/advance 25h", "/state",
	}, "\n")
	for _, tc := range []struct {
		name      string
		withRedis bool
	}{{"embedded", false}, {"configured", true}} {
		t.Run(tc.name, func(t *testing.T) {
			out := runTry(t, exampleConfig(t, tc.withRedis), "wa-main", "2026-11-21 22:00", script)
			assertInOrder(t, out,
				"-- clock: Sat 2026-11-21 22:00 -03; closed now, opens in 1d11h (Mon 2026-11-23 09:00)\n",
				"you> agent\n",
				// Monday's opening is past the user's 24 h window: the offer says so.
				"bot> Our team is back Monday 09:00. If you wait, we will write to you then.\n     [1] Wait  [2] No, thanks\n",
				"-- conversation: (none) → asking\n",
				"you> 1\n",
				"bot> You are in line. An agent will answer as soon as one is available.\n",
				"-- conversation: asking → waiting\n",
				"you> /queue\n",
				// The tap reached the gateway as the button, with its title.
				"Try User (wa-main) since Sat 22:00, last message \"Wait\"\n",
				"you> /online\n",
				"-- ana is online\n",
				"bot> An agent is available now and will answer shortly.\n",
				"you> /claim\n",
				"-- ana claimed c_wa-main_",
				"bot> You are now talking with Ana.\n",
				"-- conversation: waiting → assigned\n",
				"you> /reply hello\n",
				"agent> hello\n",
				"you> /state\n",
				": assigned, assigned to ana, last activity Sat 22:00\n",
				"   session 1: bot Sat 22:00-Sat 22:00 transferred\n",
				"you> /advance 25h\n",
				"-- clock: Sun 2026-11-22 23:00 -03; closed now, opens in 10h (Mon 2026-11-23 09:00)\n",
				"-- conversation: assigned → ended\n",
				"you> /state\n",
				": ended, last activity Sat 22:00\n",
				"   session 2: agent ana Sat 22:00-Sun 23:00 expired\n",
			)
		})
	}
}

// TestTryOpeningAndQuickReplies plays a Messenger channel (quick replies
// instead of buttons, a choice picked by its title) and the opening of
// business hours announced by the sweep when the clock moves, to a user
// who joined the line while an agent was online.
func TestTryOpeningAndQuickReplies(t *testing.T) {
	cfg := exampleConfig(t, false)
	ch, _ := cfg.Channel("fb-page")
	ch.Derivation.AfterHours = config.AfterHoursAsk
	ch.Derivation.Direct = false
	out := runTry(t, cfg, "fb-page", "2026-11-22 12:00", strings.Join([]string{
		"/online", "human", "wait", "/at 08:00", "/at 2026-11-23 07:00", "/quit", "never read",
	}, "\n"))
	assertInOrder(t, out,
		"-- clock: Sun 2026-11-22 12:00 CET; closed now, opens in 20h (Mon 2026-11-23 08:00)\n",
		"you> human\n",
		"     [1] Wait  [2] No, thanks\n",
		"you> wait\n",
		"bot> You are in line.",
		"-- conversation: asking → waiting\n",
		"you> /at 08:00\n",
		"-- clock: Mon 2026-11-23 08:00 CET; open now",
		"bot> An agent is available now and will answer shortly.\n",
		"you> /at 2026-11-23 07:00\n",
		"-- the clock only moves forward",
		"you> /quit\n",
	)
	if strings.Contains(out, "never read") {
		t.Errorf("a line after /quit was read; output:\n%s", out)
	}
}

func TestTryUnknownChannel(t *testing.T) {
	err := Run(context.Background(), exampleConfig(t, false), Options{Channel: "nope", In: strings.NewReader(""), Out: &strings.Builder{}})
	if err == nil || !strings.Contains(err.Error(), `"nope"`) || !strings.Contains(err.Error(), "wa-main") {
		t.Errorf("Run(unknown channel) error = %v, want one naming it and the channels", err)
	}
}
