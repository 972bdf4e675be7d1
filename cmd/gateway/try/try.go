// Package try is the try sub-command: the whole gateway in the process,
// with a person chatting as one channel's user through real signed
// webhooks, a fake Graph API printing what the gateway sends, and a
// simulated clock. It drives the gateway through its HTTP API and a few
// exported App methods, never the engine's internals.
package try

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"switchboard/channels"
	"switchboard/cmd/gateway/hours"
	"switchboard/config"
	"switchboard/gateway"
	"switchboard/gateway/engine"
	"switchboard/internal/testkit"
	"switchboard/queue"
	"switchboard/routing"
)

// Options configure Run.
type Options struct {
	// Channel is the id of the channel whose user the person plays. Required.
	Channel string
	// At sets the simulated clock, "YYYY-MM-DD HH:MM" in the channel's zone.
	// Empty: the current time.
	At string
	// In is read line by line: messages from the user and /commands. Its
	// end quits.
	In io.Reader
	// Out receives the chat: what the user receives and what commands say.
	Out io.Writer
	// Echo writes each input line after its prompt, for input that is a
	// script rather than a terminal (which echoes what the person types).
	Echo bool
	// Logger receives the gateway's logs; nil discards them, so they do not
	// clutter the chat.
	Logger *slog.Logger
}

// settleTimeout bounds the wait for the gateway to finish what one input
// caused (an http bot may take its whole timeout).
const settleTimeout = 15 * time.Second

// tryHelp is the /help text.
const tryHelp = `Type a message to send it as the user, through a signed webhook.
After a message with choices, "1", "2" or a choice's title taps it.
The clock stands still between commands; move it with /at and /advance.

  /at YYYY-MM-DD HH:MM   set the clock (channel's zone); /at HH:MM: the next such time
  /advance 2h            move the clock (Go durations, or days: 1d)
                         moving runs the sweep: openings, 24 h expiry
  /state                 the conversation: state, place in line, sessions; the clock
  agent commands (the first agent of the channel, through the agent API):
  /queue  /claim  /reply TEXT  /note TEXT  /close  /release  /handback
  /online  /offline
  /missed  /template NAME  /takeover   the missed list; re-engage by template; take from the bot
  /help  /quit           (end of input quits too)
The gateway's logs are not shown here.
`

// Run runs the whole gateway in the process and lets a person chat as a
// user of one channel: every line becomes a real signed webhook posted to
// the gateway's HTTP server, what the gateway sends comes back from a fake
// Graph API and is printed as the platform would show it, /commands act as
// the channel's first agent through the agent API, and a simulated clock
// shows opening hours and expiry happen.
//
// The gateway listens on 127.0.0.1 on a free port and sends to the fake;
// the configured bot answers. With no Redis configured it is embedded;
// else the keys and task queues get "try:" after the prefix, apart from a
// real gateway's. It returns an error for an unknown channel,
// an invalid At, a gateway that does not start, or unreadable input.
func Run(ctx context.Context, cfg *config.Config, opts Options) error {
	chCfg, ok := cfg.Channel(opts.Channel)
	if !ok {
		ids := make([]string, len(cfg.Channels))
		for i, ch := range cfg.Channels {
			ids[i] = ch.ID
		}
		return fmt.Errorf("no channel %q in the configuration (channels: %s)", opts.Channel, strings.Join(ids, ", "))
	}
	loc := time.UTC
	if chCfg.Hours != nil && chCfg.Hours.Location != nil {
		loc = chCfg.Hours.Location
	}
	clock := testkit.NewClock(time.Now().In(loc).Truncate(time.Minute))
	if opts.At != "" {
		at, err := time.ParseInLocation("2006-01-02 15:04", opts.At, loc)
		if err != nil {
			return fmt.Errorf("--at %q: want YYYY-MM-DD HH:MM in %s", opts.At, loc)
		}
		clock.Set(at)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	graph := testkit.StartGraph()
	defer graph.Close()
	app, err := gateway.New(ctx, tryConfig(cfg, graph.URL), gateway.Options{Now: clock.Now, Logger: log})
	if err != nil {
		return err
	}
	if err := app.Start(ctx); err != nil {
		_ = app.Shutdown(context.Background())
		return err
	}
	defer app.Shutdown(context.Background())

	s := &trySession{
		app: app, ch: chCfg, platform: channels.Platform(chCfg.Type), calendar: calendar(chCfg), bot: cfg.Bot.Type,
		graph: graph, clock: clock, loc: loc, out: opts.Out,
		user: tryUsers[channels.Platform(chCfg.Type)], base: "http://" + app.Addr(),
		client: &http.Client{Timeout: settleTimeout},
	}
	s.convID = queue.ConversationID(chCfg.ID, s.user.ID)
	for i := range cfg.Agents {
		if cfg.Agents[i].Serves(chCfg.ID) {
			s.agent = &cfg.Agents[i]
			break
		}
	}
	if in, err := app.Inspect(ctx, s.convID); err == nil {
		s.state = in.Record.State
	}
	s.intro()
	return s.run(ctx, opts.In, opts.Echo)
}

// tryConfig is cfg for the simulator: a free loopback port, every channel
// sending to the fake Graph API, keys apart from a real gateway's, and no
// periodic sweep: the clock only moves by command, and each move runs it.
func tryConfig(cfg *config.Config, graphURL string) *config.Config {
	c := *cfg
	c.Listen = "127.0.0.1:0"
	c.Meta.GraphURL = graphURL
	c.Channels = slices.Clone(cfg.Channels)
	for i := range c.Channels {
		c.Channels[i].GraphURL = graphURL
	}
	if !c.Redis.Embedded() {
		c.Redis.Prefix += "try:"
	}
	c.Engine.SweepInterval = 24 * time.Hour
	return &c
}

// calendar is the channel's business-hours calendar, nil when always open.
func calendar(ch *config.Channel) *routing.Calendar {
	if ch.Hours == nil {
		return nil
	}
	return ch.Hours.Calendar
}

// trySession is one chat.
type trySession struct {
	app      *gateway.App
	ch       *config.Channel
	platform channels.Platform
	calendar *routing.Calendar
	bot      config.BotType
	graph    *testkit.Graph
	clock    *testkit.Clock
	loc      *time.Location
	out      io.Writer
	user     channels.User
	convID   string
	agent    *config.Agent // nil when no agent serves the channel
	base     string        // the gateway's URL
	client   *http.Client

	printed int           // fake Graph API messages already shown
	offer   *testkit.Send // the last message with choices, until the user answers
	state   routing.State // the conversation's state last shown
}

func (s *trySession) intro() {
	agent := "no agent serves this channel: agent commands are off"
	if s.agent != nil {
		agent = "agent commands act as " + s.agent.ID
	}
	fmt.Fprintf(s.out, "You are %s, a %s user of channel %s (account %s). The %s bot answers; %s.\n",
		s.user.Name, s.platform, s.ch.ID, s.ch.PlatformID(), s.bot, agent)
	fmt.Fprintln(s.out, "Type a message, or /help.")
	s.printClock()
}

// run reads lines until /quit, the end of the input or ctx's end.
func (s *trySession) run(ctx context.Context, in io.Reader, echo bool) error {
	// Ending the context on return stops the reader after /quit.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer s.client.CloseIdleConnections()
	lines := make(chan string)
	readErr := make(chan error, 1)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				readErr <- nil
				return
			}
		}
		readErr <- sc.Err()
	}()
	for {
		if !echo {
			fmt.Fprint(s.out, "you> ")
		}
		var line string
		select {
		case <-ctx.Done():
			fmt.Fprintln(s.out)
			return nil
		case l, ok := <-lines:
			if !ok {
				if !echo {
					fmt.Fprintln(s.out)
				}
				return <-readErr
			}
			line = strings.TrimSpace(l)
		}
		if echo {
			fmt.Fprintf(s.out, "you> %s\n", line)
		}
		if line == "" {
			continue
		}
		quit, err := s.handle(ctx, line)
		if err != nil {
			fmt.Fprintf(s.out, "-- %v\n", err)
		}
		if quit {
			return nil
		}
	}
}

// handle runs one input line; it reports whether the session ends.
func (s *trySession) handle(ctx context.Context, line string) (bool, error) {
	if !strings.HasPrefix(line, "/") {
		return false, s.say(ctx, line)
	}
	cmd, arg, _ := strings.Cut(line, " ")
	arg = strings.TrimSpace(arg)
	switch cmd {
	case "/quit":
		return true, nil
	case "/help":
		fmt.Fprint(s.out, tryHelp)
		return false, nil
	case "/state":
		return false, s.showState(ctx)
	case "/at":
		to, err := s.parseAt(arg)
		if err != nil {
			return false, err
		}
		return false, s.moveClock(ctx, to)
	case "/advance":
		d, err := parseAdvance(arg)
		if err != nil {
			return false, err
		}
		return false, s.moveClock(ctx, s.clock.Now().Add(d))
	}
	if s.agent == nil {
		return false, fmt.Errorf("%s: no agent serves channel %s", cmd, s.ch.ID)
	}
	switch cmd {
	case "/queue":
		return false, s.showQueue(ctx)
	case "/claim":
		return false, s.claim(ctx)
	case "/reply", "/note":
		if arg == "" {
			return false, fmt.Errorf("usage: %s TEXT", cmd)
		}
		path := "/messages"
		if cmd == "/note" {
			path = "/notes"
		}
		if _, err := s.api(ctx, http.MethodPost, "/api/v1/conversations/"+s.convID+path, map[string]string{"text": arg}, nil); err != nil {
			return false, err
		}
		if cmd == "/note" {
			fmt.Fprintln(s.out, "-- note saved; the user never sees it")
		}
		return false, s.settle(ctx)
	case "/close", "/release", "/handback":
		if _, err := s.api(ctx, http.MethodPost, "/api/v1/conversations/"+s.convID+"/"+cmd[1:], nil, nil); err != nil {
			return false, err
		}
		return false, s.settle(ctx)
	case "/online", "/offline":
		if _, err := s.api(ctx, http.MethodPut, "/api/v1/agents/me/presence", map[string]string{"status": cmd[1:]}, nil); err != nil {
			return false, err
		}
		fmt.Fprintf(s.out, "-- %s is %s\n", s.agent.ID, cmd[1:])
		return false, s.settle(ctx)
	}
	if ok, err := s.windowCommand(ctx, cmd, arg); ok {
		return false, err
	}
	return false, fmt.Errorf("unknown command %s; /help lists them", cmd)
}

// say sends a line as the user: a tap when it picks a choice of the last
// message that had some, else a text message.
func (s *trySession) say(ctx context.Context, text string) error {
	in := testkit.Inbound{ID: "m_TRY" + rand.Text(), From: s.user.ID, Name: s.user.Name, At: s.clock.Now(), Text: text}
	if offer := s.offer; offer != nil {
		if c := pickChoice(offer.Choices, text); c != nil {
			in.Text, in.Choice, in.Context = c.Title, c.ID, offer.MessageID
		}
	}
	s.offer = nil
	var body []byte
	if s.platform == channels.WhatsApp {
		in.ID = "wamid.TRY" + rand.Text()
		body = testkit.WhatsAppMessage(s.ch.PlatformID(), in)
	} else {
		body = testkit.Message(s.platform, s.ch.PlatformID(), in)
	}
	req, err := testkit.Sign(s.platform, body, s.ch.AppSecret.Reveal()).Request(ctx, s.base)
	if err != nil {
		return err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the webhook was answered %d: %s", resp.StatusCode, bytes.TrimSpace(msg))
	}
	return s.settle(ctx)
}

// tryUsers are the simulated users, one per platform, with ids of the form
// each platform uses (a phone number, a page- or account-scoped id).
var tryUsers = map[channels.Platform]channels.User{
	channels.WhatsApp:  {ID: "15550001234", Name: "Try User"},
	channels.Messenger: {ID: "7000000000001234", Name: "Try User"},
	channels.Instagram: {ID: "900000000001234", Name: "Try User"},
}

// pickChoice returns the choice a line picks by number or title, or nil.
func pickChoice(choices []channels.Choice, line string) *channels.Choice {
	if n, err := strconv.Atoi(line); err == nil && n >= 1 && n <= len(choices) {
		return &choices[n-1]
	}
	for i := range choices {
		if strings.EqualFold(choices[i].Title, line) {
			return &choices[i]
		}
	}
	return nil
}

// settle waits until the gateway has done everything the last input
// caused (no event left in the channel's inboxes, no send left in its
// outbox), then prints what the user received and a change of state.
func (s *trySession) settle(ctx context.Context) error {
	deadline := time.Now().Add(settleTimeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		idle, err := s.idle(ctx)
		if err != nil {
			return err
		}
		if idle {
			break
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(s.out, "-- the gateway is still busy after %s; what it sends later shows after the next line\n", settleTimeout)
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return s.flush(ctx)
}

// idle reports whether the channel has no inbound event and no send in
// progress. The inbox is checked first: a commit fills the outbox before
// it empties the inbox, so nothing slips between the two reads.
func (s *trySession) idle(ctx context.Context) (bool, error) {
	return s.app.Idle(ctx, s.ch.ID)
}

// flush prints the messages the user received since the last flush, and
// the conversation's new state when it changed.
func (s *trySession) flush(ctx context.Context) error {
	sent, n := s.graph.Since(s.printed)
	s.printed = n
	in, err := s.app.Inspect(ctx, s.convID)
	if err != nil {
		return err
	}
	authors := map[string]routing.Author{}
	for _, e := range in.Transcript {
		authors[e.ID] = e.Author
	}
	for i := range sent {
		m := &sent[i]
		label := "bot> "
		if authors[m.Ref] == routing.AuthorAgent {
			label = "agent> "
		}
		indent := strings.Repeat(" ", len(label))
		fmt.Fprint(s.out, label+strings.ReplaceAll(m.Display(), "\n", "\n"+indent)+"\n")
		if len(m.Choices) > 0 {
			buttons := make([]string, len(m.Choices))
			for j, c := range m.Choices {
				buttons[j] = fmt.Sprintf("[%d] %s", j+1, c.Title)
			}
			fmt.Fprintln(s.out, indent+strings.Join(buttons, "  "))
			s.offer = m
		}
	}
	if rec := in.Record; rec.State != s.state {
		fmt.Fprintf(s.out, "-- conversation: %s → %s\n", orNone(string(s.state)), orNone(string(rec.State)))
		s.state = rec.State
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// parseAt reads "YYYY-MM-DD HH:MM", or "HH:MM" for the next such time, in
// the channel's zone.
func (s *trySession) parseAt(arg string) (time.Time, error) {
	if t, err := time.ParseInLocation("2006-01-02 15:04", arg, s.loc); err == nil {
		return t, nil
	}
	hm, err := time.Parse("15:04", arg)
	if err != nil {
		return time.Time{}, fmt.Errorf("usage: /at YYYY-MM-DD HH:MM or /at HH:MM (in %s)", s.loc)
	}
	now := s.clock.Now().In(s.loc)
	t := time.Date(now.Year(), now.Month(), now.Day(), hm.Hour(), hm.Minute(), 0, 0, s.loc)
	if !t.After(now) {
		t = time.Date(now.Year(), now.Month(), now.Day()+1, hm.Hour(), hm.Minute(), 0, 0, s.loc)
	}
	return t, nil
}

// parseAdvance reads a positive Go duration ("2h30m") or a number of days ("2d").
func parseAdvance(arg string) (time.Duration, error) {
	d, err := time.ParseDuration(arg)
	if days, ok := strings.CutSuffix(arg, "d"); ok {
		var n int
		n, err = strconv.Atoi(days)
		d = time.Duration(n) * 24 * time.Hour
	}
	if err != nil || d <= 0 {
		return 0, errors.New("usage: /advance DURATION, such as 30m, 2h, 25h or 1d")
	}
	return d, nil
}

// moveClock sets the clock forward, moves the embedded Redis' clock so
// TTLs follow, and runs the sweep over the time skipped, as the gateway's
// schedule would have: openings are announced, idle conversations expire.
func (s *trySession) moveClock(ctx context.Context, to time.Time) error {
	prev := s.clock.Now()
	if !to.After(prev) {
		return fmt.Errorf("the clock only moves forward; it is %s", prev.In(s.loc).Format(hours.ClockLayout))
	}
	s.clock.Set(to)
	s.printClock()
	if err := s.app.Sweep(ctx, prev, to); err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	return s.settle(ctx)
}

func (s *trySession) printClock() {
	now := s.clock.Now()
	fmt.Fprintf(s.out, "-- clock: %s; %s\n", now.In(s.loc).Format(hours.ClockLayout), hours.Status(s.calendar, now))
}

// showState prints the conversation as the store has it, with its ended
// sessions (which the agent API does not list).
func (s *trySession) showState(ctx context.Context) error {
	s.printClock()
	in, err := s.app.Inspect(ctx, s.convID)
	if err != nil {
		return err
	}
	rec := in.Record
	if rec.Version == 0 {
		fmt.Fprintf(s.out, "-- conversation %s: none yet\n", s.convID)
		return nil
	}
	at := func(t time.Time) string { return t.In(s.loc).Format("Mon 15:04") }
	fmt.Fprintf(s.out, "-- conversation %s: %s", s.convID, rec.State)
	if (rec.State == routing.StateWaiting || rec.Transferred) && in.Position > 0 {
		fmt.Fprintf(s.out, ", place %d in line since %s", in.Position, at(rec.WaitingSince))
	}
	if rec.AssignedTo != "" {
		fmt.Fprintf(s.out, ", assigned to %s", rec.AssignedTo)
	}
	if !rec.LastActivity.IsZero() {
		fmt.Fprintf(s.out, ", last activity %s", at(rec.LastActivity))
	}
	fmt.Fprintln(s.out)
	if o := rec.Session; o != nil {
		fmt.Fprintf(s.out, "   open session: %s since %s\n", strings.TrimSpace(string(o.Kind)+" "+o.Agent), at(o.Start))
	}
	for _, r := range in.Sessions {
		n := r.ID[strings.LastIndexByte(r.ID, '-')+1:] // ids are "<conversation>-<n>"
		fmt.Fprintf(s.out, "   session %s: %s %s-%s %s\n", n, strings.TrimSpace(string(r.Kind)+" "+r.Agent), at(r.Start), at(r.End), r.Resolution)
	}
	return nil
}

// showQueue prints the agent's waiting line through the agent API.
func (s *trySession) showQueue(ctx context.Context) error {
	var body struct {
		Conversations []engine.ConversationView `json:"conversations"`
	}
	if _, err := s.api(ctx, http.MethodGet, "/api/v1/queue", nil, &body); err != nil {
		return err
	}
	if len(body.Conversations) == 0 {
		fmt.Fprintf(s.out, "-- nobody is waiting for %s\n", s.agent.ID)
		return nil
	}
	fmt.Fprintf(s.out, "-- waiting for %s:\n", s.agent.ID)
	for i, c := range body.Conversations {
		last := ""
		if c.LastMessage != nil {
			last = fmt.Sprintf(", last message %q", c.LastMessage.Text)
		}
		since := ""
		if c.WaitingSince != nil {
			since = " since " + c.WaitingSince.In(s.loc).Format("Mon 15:04")
		}
		fmt.Fprintf(s.out, "   %d. %s %s (%s)%s%s\n", i+1, c.ID, c.User.Name, c.Channel, since, last)
	}
	return nil
}

// claim takes the oldest waiting conversation of the channel for the agent.
func (s *trySession) claim(ctx context.Context) error {
	var c engine.ConversationView
	status, err := s.api(ctx, http.MethodPost, "/api/v1/queue/claim?channel="+s.ch.ID, nil, &c)
	if err != nil {
		return err
	}
	if status == http.StatusNoContent {
		fmt.Fprintf(s.out, "-- nobody is waiting on %s\n", s.ch.ID)
		return nil
	}
	fmt.Fprintf(s.out, "-- %s claimed %s\n", s.agent.ID, c.ID)
	return s.settle(ctx)
}

// api calls the agent API as the session's agent and decodes a JSON
// answer into out. It returns the status; an error status is an error
// with the API's code and message.
func (s *trySession) api(ctx context.Context, method, path string, in, out any) (int, error) {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+s.agent.Token.Reveal())
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return resp.StatusCode, fmt.Errorf("the agent API answered %d %s: %s", resp.StatusCode, e.Error.Code, e.Error.Message)
	}
	if out != nil && resp.StatusCode != http.StatusNoContent {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return resp.StatusCode, fmt.Errorf("the agent API's answer to %s %s: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}
