package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Labels, canned responses and retention: what the agents' inbox needs of
// the configuration.

// CannedResponse is a reply agents insert by its shortcut.
type CannedResponse struct {
	// Shortcut names the response ("/refund" in a console). Required,
	// unique, matching [a-z0-9][a-z0-9_-]*.
	Shortcut string `yaml:"shortcut"`
	// Text is the reply. It may hold the placeholders {user.name} and
	// {agent}; the agent API returns them as they are, for the client to
	// fill in with the conversation's user and the agent's name.
	Text string `yaml:"text"`
	// Channels, when set, limits the response to agents serving one of
	// these channels. Default: every channel.
	Channels []string `yaml:"channels"`
}

// Retention says how long the gateway keeps what it no longer needs.
type Retention struct {
	// Ended is how long an ended conversation, its transcript and its
	// sessions' index stay after it ends; it comes back whole if the user
	// writes again before. Default 720h (30 days); 1h to 87600h.
	Ended time.Duration `yaml:"ended"`
}

// CannedPlaceholders are the placeholders a canned response may hold.
var CannedPlaceholders = []string{"{user.name}", "{agent}"}

var (
	retentionBounds = bounds[time.Duration]{min: time.Hour, max: 3650 * day}
	placeholderRE   = regexp.MustCompile(`\{[^{}]*\}`)
)

// defaultRetention is how long ended conversations are kept by default.
const defaultRetention = 30 * day

func (c *Config) inboxDefaults() {
	orDefault(&c.Retention.Ended, defaultRetention)
}

func (v *validator) inbox(c *Config) {
	within(v, "retention.ended", c.Retention.Ended, retentionBounds)
	seen := map[string]bool{}
	for i, l := range c.Labels {
		switch {
		case !idPattern.MatchString(l):
			v.reportItem("labels", i, "%q must match [a-z0-9][a-z0-9_-]*", l)
		case seen[l]:
			v.reportItem("labels", i, "%q is listed twice", l)
		}
		seen[l] = true
	}
	channels := map[string]bool{}
	for _, ch := range c.Channels {
		channels[ch.ID] = true
	}
	shortcuts := map[string]bool{}
	for i, r := range c.CannedResponses {
		path := fmt.Sprintf("canned_responses[%d]", i)
		switch {
		case !idPattern.MatchString(r.Shortcut):
			v.report(path+".shortcut", "%q must match [a-z0-9][a-z0-9_-]*", r.Shortcut)
		case shortcuts[r.Shortcut]:
			v.report(path+".shortcut", "%q is used by another canned response", r.Shortcut)
		}
		shortcuts[r.Shortcut] = true
		if strings.TrimSpace(r.Text) == "" {
			v.report(path+".text", "is required")
		}
		for _, p := range placeholderRE.FindAllString(r.Text, -1) {
			if !isPlaceholder(p) {
				v.report(path+".text", "unknown placeholder %s (known: %s)", p, strings.Join(CannedPlaceholders, ", "))
			}
		}
		for j, ch := range r.Channels {
			if !channels[ch] {
				v.reportItem(path+".channels", j, "no channel %q", ch)
			}
		}
	}
}

func isPlaceholder(p string) bool { return slices.Contains(CannedPlaceholders, p) }
