package config

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"switchboard/routing"
)

// The messaging window's settings (design.md §10): a channel's language
// (the day names of "{opens}"), its WhatsApp templates, no_agent_online,
// follow_up_keep and the placeholders messages may use.

// Template is a WhatsApp message template approved in Meta's manager, as
// agents send it to re-engage a user outside the messaging window.
type Template struct {
	// Name is the template's name in Meta's manager. Required, unique per
	// channel.
	Name string `yaml:"name"`
	// Language is the template's language code (en_US, es_AR...). Required.
	Language string `yaml:"language"`
	// Body are the template's body parameters, in order; each may use the
	// placeholders {user.name} and {agent}.
	Body []string `yaml:"body"`
}

// Template returns the channel's template named name.
func (c *Channel) Template(name string) (*Template, bool) {
	for i := range c.Templates {
		if c.Templates[i].Name == name {
			return &c.Templates[i], true
		}
	}
	return nil, false
}

const (
	defaultLanguage     = "en"
	defaultFollowUpKeep = 7 * day
)

var followUpBounds = bounds[time.Duration]{min: time.Minute, max: 90 * day}

// applyWindowDefaults fills the defaults of a channel's window settings.
func (ch *Channel) applyWindowDefaults() {
	orDefault(&ch.Language, defaultLanguage)
	orDefault(&ch.Derivation.NoAgentOnline, routing.NoAgentWait)
	orDefault(&ch.Derivation.FollowUpKeep, defaultFollowUpKeep)
}

// parseDuration is time.ParseDuration that also reads whole days ("7d").
func parseDuration(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 100_000 {
			return 0, fmt.Errorf("%q is not a number of days", s)
		}
		return time.Duration(n) * day, nil
	}
	return time.ParseDuration(s)
}

// window checks a channel's language, templates, no_agent_online,
// follow_up_keep and the placeholders of its messages.
func (v *validator) window(ch *Channel, path string) {
	if !slices.Contains(routing.Languages, ch.Language) {
		v.report(path+".language", "%q is not one of %s", ch.Language, strings.Join(routing.Languages, ", "))
	}
	d := &ch.Derivation
	switch d.NoAgentOnline {
	case routing.NoAgentWait, routing.NoAgentReject:
	case routing.NoAgentAsk:
		if !ch.Type.asynchronous() {
			v.report(path+".derivation.no_agent_online", "ask (offer to wait) is allowed only on an asynchronous channel; use wait or reject")
		}
	default:
		v.report(path+".derivation.no_agent_online", "%q is not wait, ask or reject", d.NoAgentOnline)
	}
	within(v, path+".derivation.follow_up_keep", d.FollowUpKeep, followUpBounds)
	v.placeholders(path+".derivation.messages", reflect.ValueOf(d.Messages))
	if len(ch.Templates) > 0 && ch.Type != WhatsApp {
		v.report(path+".templates", "only whatsapp channels have templates")
	}
	names := map[string]string{}
	for i, t := range ch.Templates {
		tp := fmt.Sprintf("%s.templates[%d]", path, i)
		switch {
		case t.Name == "":
			v.report(tp+".name", "missing")
		case names[t.Name] != "":
			v.report(tp+".name", "duplicate template %q (first at line %d)", t.Name, v.line(names[t.Name]))
		default:
			names[t.Name] = tp + ".name"
		}
		if t.Language == "" {
			v.report(tp+".language", "missing: the template's language code, such as en_US")
		}
		for j, b := range t.Body {
			if p, bad := routing.UnknownPlaceholder(b); bad {
				v.reportItem(tp+".body", j, "unknown placeholder %s (known: {%s})", p, strings.Join(routing.Placeholders, "}, {"))
			}
		}
	}
}

// placeholders reports every message (a string field of msgs, named by its
// yaml key) that uses an unknown placeholder.
func (v *validator) placeholders(path string, msgs reflect.Value) {
	for i := range msgs.NumField() {
		f := msgs.Type().Field(i)
		text, ok := msgs.Field(i).Interface().(string)
		key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !ok || key == "" {
			continue
		}
		if p, bad := routing.UnknownPlaceholder(text); bad {
			v.report(path+"."+key, "unknown placeholder %s (known: {%s})", p, strings.Join(routing.Placeholders, "}, {"))
		}
	}
}
