package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// validConfig is the least a configuration needs.
const validConfig = `admin_token: admin-secret
channels:
  - id: wa
    type: whatsapp
    phone_number_id: "1"
    app_secret: app-secret
    verify_token: verify-secret
    access_token: access-secret
`

// writeFile writes a configuration into the test's directory and returns
// its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// runMain runs the command and returns its exit code and outputs.
func runMain(args ...string) (code int, stdout, stderr string) {
	var out, errOut strings.Builder
	code = run(args, nil, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestCheckFile(t *testing.T) {
	path := writeFile(t, "gateway.yaml", validConfig)
	for _, args := range [][]string{{"check", path}, {"check", "--config", path}, {"check", "--config=" + path}} {
		code, stdout, stderr := runMain(args...)
		if code != 0 || stdout != path+": ok\n" || stderr != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 0 and %q", args, code, stdout, stderr, path+": ok\n")
		}
	}
	code, _, stderr := runMain("check", filepath.Join(t.TempDir(), "missing.yaml"))
	if code != 1 || !strings.Contains(stderr, "missing.yaml") {
		t.Errorf("check of a missing file: exit %d, stderr %q; want 1 naming the file", code, stderr)
	}
}

// TestCheckRefuses: what serve, try, hours and a reload refuse, check
// refuses too, with the file and line.
func TestCheckRefuses(t *testing.T) {
	channel := func(hours string) string {
		return validConfig + "    hours:\n" + hours
	}
	tests := []struct {
		name, config, want string
	}{
		{"overlapping ranges", channel("      timezone: UTC\n      weekly:\n        mon: [\"09:00-13:00\", \"12:00-18:00\"]\n"),
			":12: channels[0].hours.weekly.mon: range 12:00-18:00 overlaps 09:00-13:00"},
		{"duplicate range", channel("      timezone: UTC\n      weekly:\n        mon: [\"09:00-13:00\", \"09:00-13:00\"]\n"),
			":12: channels[0].hours.weekly.mon: duplicate range 09:00-13:00"},
		{"closed and special", channel("      timezone: UTC\n      closed: [\"2026-12-25\"]\n      special:\n        \"2026-12-25\": [\"09:00-12:00\"]\n"),
			":13: channels[0].hours.special.2026-12-25: the date is both closed and special: keep one"},
		{"machine zone", channel("      timezone: Local\n"),
			`:10: channels[0].hours.timezone: "Local" is the machine's zone, not an IANA name`},
		{"database not a number", strings.Replace(validConfig, "channels:", "redis: {url: \"redis://cache:6379/abc\"}\nchannels:", 1),
			`:2: redis.url: the path is the database number: /0 or another number from 0 up, not "/abc"`},
		{"negative database", strings.Replace(validConfig, "channels:", "redis: {url: \"redis://cache:6379/-1\"}\nchannels:", 1),
			`:2: redis.url: the path is the database number: /0 or another number from 0 up, not "/-1"`},
		{"dedupe_ttl under a second", validConfig + "engine: {dedupe_ttl: 500us}\n",
			":9: engine.dedupe_ttl: 500µs is below the minimum of 1s"},
		{"short admin token with a real Redis", strings.Replace(validConfig, "channels:", "redis: {url: \"redis://cache:6379/0\"}\nchannels:", 1),
			":1: admin_token: shorter than 16 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "gateway.yaml", tt.config)
			code, stdout, stderr := runMain("check", path)
			if code != 1 || stdout != "" || !strings.Contains(stderr, path+tt.want) {
				t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant exit 1 and a line with %s%s", code, stdout, stderr, path, tt.want)
			}
		})
	}
}

func TestUsage(t *testing.T) {
	path := writeFile(t, "gateway.yaml", validConfig)
	tests := []struct {
		args []string
		code int
		want string // in stderr, or in stdout for exit 0
	}{
		{nil, 2, "usage: gateway <command>"},
		{[]string{"-h"}, 0, "usage: gateway <command>"},
		{[]string{"--help"}, 0, "usage: gateway <command>"},
		{[]string{"help"}, 0, "usage: gateway <command>"},
		{[]string{"launch"}, 2, `unknown command "launch"`},
		{[]string{"check", "-h"}, 0, "flags of check:"},
		{[]string{"serve", "--help"}, 0, "flags of serve:"},
		{[]string{"try", "-h"}, 0, "-channel string"},
		{[]string{"hours", "--help"}, 0, "-week string"},
		{[]string{"check", "--config", path, path}, 2, "check: the file is given twice"},
		{[]string{"check", path, "extra"}, 2, `check: unexpected argument "extra"`},
		{[]string{"check", "--verbose"}, 2, "check: flag provided but not defined: -verbose"},
		{[]string{"serve", "--config", path, "now"}, 2, `serve: unexpected argument "now"`},
		{[]string{"try", "--config", path, "--channel", "wa", "extra"}, 2, `try: unexpected argument "extra"`},
		{[]string{"hours", "--config", path, "extra"}, 2, `hours: unexpected argument "extra"`},
		{[]string{"hours", "--week"}, 2, "hours: flag needs an argument: -week"},
	}
	for _, tt := range tests {
		code, stdout, stderr := runMain(tt.args...)
		got, other := stderr, stdout
		if tt.code == 0 {
			got, other = stdout, stderr
		}
		if code != tt.code || !strings.Contains(got, tt.want) || other != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit %d with %q", tt.args, code, stdout, stderr, tt.code, tt.want)
		}
		if code == 2 && !strings.Contains(stderr, "usage: gateway") {
			t.Errorf("%q: exit 2 without the usage: %q", tt.args, stderr)
		}
	}
}

// The version a build was stamped with is what gateway version prints.
func TestVersion(t *testing.T) {
	defer func(v string) { version = v }(version)
	version = "v1.2.3"
	code, stdout, stderr := runMain("version")
	if code != 0 || !strings.HasPrefix(stdout, "gateway v1.2.3 go") || stderr != "" {
		t.Errorf("version: exit %d, stdout %q, stderr %q; want 0 and gateway v1.2.3 with the Go version", code, stdout, stderr)
	}
}
