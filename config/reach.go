package config

import (
	"encoding/json"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"switchboard/routing"
)

// Assignment is how a channel's waiting conversations reach agents.
type Assignment string

// Assignment modes.
const (
	// AssignManual (the default, also when empty): agents claim from the line.
	AssignManual Assignment = "manual"
	// AssignAuto: a conversation that joins the line goes to the online
	// agent of the channel with the fewest open conversations under their
	// max_conversations (ties: the one idle longest); with none available it
	// waits and is assigned as soon as one is.
	AssignAuto Assignment = "auto"
)

// Call is a channel's messaging-to-call option (derivation.call): on a
// referral the user chooses between the chat and a phone call, and the
// gateway asks a contact-center (CCaaS) provider to call the number the
// user gives.
type Call struct {
	// URL is the provider's "create call" endpoint. Required.
	URL string `yaml:"url"`
	// Method is the HTTP method. Default POST.
	Method string `yaml:"method"`
	// Headers are sent with every request; values may hold secrets through
	// ${VAR} (an Authorization header, for instance) and are never printed.
	Headers map[string]Secret `yaml:"headers"`
	// ContentType is application/json (the default) or
	// application/x-www-form-urlencoded.
	ContentType string `yaml:"content_type"`
	// Body is the request body, a template with the fields {{phone}} (the
	// number as the user typed it), {{name}}, {{conversation_id}} and
	// {{channel}}; each value is escaped for the content type (a JSON
	// string's content, or form encoding). Required.
	Body string `yaml:"body"`
	// ErrorPath is where the provider puts its error message in a 4xx JSON
	// answer: a dotted path such as message or error.message. Default
	// message. That message is relayed to the user.
	ErrorPath string `yaml:"error_path"`
	// Timeout bounds one request. Default 10s.
	Timeout time.Duration `yaml:"timeout"`
	// Attempts bounds the tries of one request the provider fails (5xx,
	// timeout, network error), with exponential backoff. Default 4.
	Attempts int `yaml:"attempts"`
	// AfterHours also offers the call outside business hours (when the
	// provider takes calls then).
	AfterHours bool `yaml:"after_hours"`
	// MaxTries bounds the numbers the provider may refuse (4xx) before the
	// chat is offered instead. Default 3.
	MaxTries int `yaml:"max_tries"`
	// ThisNumber offers, on WhatsApp, the number the user writes from as
	// one tap. Default true.
	ThisNumber *bool `yaml:"this_number"`
	// ChatWords and PhoneWords choose by text, besides the choices'
	// numbers and titles. Defaults: chat, text... / phone, call...
	ChatWords  []string `yaml:"chat_words"`
	PhoneWords []string `yaml:"phone_words"`
	// Messages are the option's texts; an empty one gets its English default.
	Messages CallMessages `yaml:"messages"`
}

// CallMessages are the texts of the call option (derivation.call.messages),
// decoded into the type routing decides with.
type CallMessages = routing.CallMessages

// Content types of a call request.
const (
	ContentJSON = "application/json"
	ContentForm = "application/x-www-form-urlencoded"
)

// CallFields are the fields a call body may use.
var CallFields = []string{"phone", "name", "conversation_id", "channel"}

var callFieldPattern = regexp.MustCompile(`\{\{\s*([a-zA-Z0-9_.-]*)\s*\}\}`)

// RenderCallBody fills a call body template with values, escaping each for
// the content type. Unknown fields render empty.
func RenderCallBody(body, contentType string, values map[string]string) string {
	return callFieldPattern.ReplaceAllStringFunc(body, func(m string) string {
		v := values[callFieldPattern.FindStringSubmatch(m)[1]]
		if contentType == ContentForm {
			return url.QueryEscape(v)
		}
		b, _ := json.Marshal(v)
		return string(b[1 : len(b)-1])
	})
}

// RenderDisplayName fills a display_name template ("{{first_name}}
// ({{company}})") with a conversation's variables; it returns "" when a
// variable it names is missing or empty, so the platform's name is shown.
func RenderDisplayName(tmpl string, vars map[string]string) string {
	missing := false
	out := callFieldPattern.ReplaceAllStringFunc(tmpl, func(m string) string {
		v := vars[callFieldPattern.FindStringSubmatch(m)[1]]
		if v == "" {
			missing = true
		}
		return v
	})
	if missing {
		return ""
	}
	return strings.TrimSpace(out)
}

var defaultCallMessages = CallMessages{
	Choose:        "Would you rather chat with an agent or get a phone call?",
	Chat:          "Chat",
	Phone:         "Phone call",
	AskNumber:     "Which number should we call? Type it with the country code.",
	UseThisNumber: "This number",
	Confirmed:     "Done: an agent will call you shortly.",
	Apology:       "Sorry, we cannot place calls right now. You can chat with an agent instead.",
	OfferChat:     "We could not place the call. You can chat with an agent instead.",
}

const (
	defaultCallTimeout   = 10 * time.Second
	defaultCallAttempts  = 4
	defaultCallMaxTries  = 3
	defaultCallErrorPath = "message"
)

func (c *Call) applyDefaults() {
	orDefault(&c.Method, "POST")
	orDefault(&c.ContentType, ContentJSON)
	orDefault(&c.ErrorPath, defaultCallErrorPath)
	orDefault(&c.Timeout, defaultCallTimeout)
	orDefault(&c.Attempts, defaultCallAttempts)
	orDefault(&c.MaxTries, defaultCallMaxTries)
	if c.ThisNumber == nil {
		yes := true
		c.ThisNumber = &yes
	}
	m, d := &c.Messages, defaultCallMessages
	orDefault(&m.Choose, d.Choose)
	orDefault(&m.Chat, d.Chat)
	orDefault(&m.Phone, d.Phone)
	orDefault(&m.AskNumber, d.AskNumber)
	orDefault(&m.UseThisNumber, d.UseThisNumber)
	orDefault(&m.Confirmed, d.Confirmed)
	orDefault(&m.Apology, d.Apology)
	orDefault(&m.OfferChat, d.OfferChat)
}

// applyReachDefaults fills the defaults of a channel's assignment and call option.
func (ch *Channel) applyReachDefaults() {
	if ch.Derivation.Call != nil {
		ch.Derivation.Call.applyDefaults()
	}
}

// reach checks a channel's assignment, display_name and call option.
func (v *validator) reach(ch *Channel, path string) {
	switch ch.Assignment {
	case "", AssignManual, AssignAuto:
	default:
		v.report(path+".assignment", "%q is not manual or auto", ch.Assignment)
	}
	for _, m := range callFieldPattern.FindAllStringSubmatch(ch.DisplayName, -1) {
		if m[1] == "" {
			v.report(path+".display_name", "{{}} names no variable")
		}
	}
	if c := ch.Derivation.Call; c != nil {
		v.call(c, path+".derivation.call")
	}
}

func (v *validator) call(c *Call, path string) {
	if c.URL == "" {
		v.report(path+".url", "missing: the provider's endpoint that requests a call")
	} else {
		v.httpURL(path+".url", c.URL)
	}
	switch strings.ToUpper(c.Method) {
	case "POST", "PUT", "PATCH":
		c.Method = strings.ToUpper(c.Method)
	default:
		v.report(path+".method", "%q is not POST, PUT or PATCH", c.Method)
	}
	for _, name := range slices.Sorted(maps.Keys(c.Headers)) {
		if name == "" || strings.ContainsAny(name, " :\r\n") {
			v.report(path+".headers."+name, "%q is not a header name", name)
		}
		v.secret(path+".headers."+name, c.Headers[name])
	}
	switch c.ContentType {
	case ContentJSON, ContentForm:
	default:
		v.report(path+".content_type", "%q is not %s or %s", c.ContentType, ContentJSON, ContentForm)
	}
	if strings.TrimSpace(c.Body) == "" {
		v.report(path+".body", "missing: the request body, a template with {{phone}}")
	} else {
		v.callBody(c, path+".body")
	}
	for _, part := range strings.Split(c.ErrorPath, ".") {
		if part == "" {
			v.report(path+".error_path", "%q is not a dotted path such as message or error.message", c.ErrorPath)
			break
		}
	}
	within(v, path+".timeout", c.Timeout, timeoutBounds)
	within(v, path+".attempts", c.Attempts, attemptsBounds)
	within(v, path+".max_tries", c.MaxTries, maxTriesBounds)
}

// callBody checks the fields a body uses and, for JSON, that it renders
// to valid JSON.
func (v *validator) callBody(c *Call, path string) {
	phone := false
	for _, m := range callFieldPattern.FindAllStringSubmatch(c.Body, -1) {
		known := false
		for _, f := range CallFields {
			known = known || m[1] == f
		}
		if !known {
			v.report(path, "unknown field {{%s}}: use %s", m[1], "{{"+strings.Join(CallFields, "}}, {{")+"}}")
		}
		phone = phone || m[1] == "phone"
	}
	if !phone {
		v.report(path, "the body never uses {{phone}}, the number to call")
	}
	if c.ContentType == ContentJSON {
		sample := RenderCallBody(c.Body, ContentJSON, map[string]string{"phone": "+1 555 0100", "name": `A "quoted" name`})
		if !json.Valid([]byte(sample)) {
			v.report(path, "not valid JSON once filled in (write string fields inside quotes: \"{{phone}}\")")
		}
	}
}
