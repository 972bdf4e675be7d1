package engine

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"switchboard/channels"
	"switchboard/queue"
	"switchboard/routing"
)

// The agents' inbox: every conversation of the agent's channels with
// filters, unread counts and read receipts, typing indicators, labels,
// canned responses, colleagues, and transcripts read in pages.

// Inboxes is what the inbox needs of Redis: the per-channel indexes the
// commit keeps, unread counts, labels and transcript pages.
type Inboxes interface {
	Members(ctx context.Context, ix queue.Index, after *queue.Position, n int) ([]queue.Position, error)
	Drop(ctx context.Context, ix queue.Index, ids ...string) error
	IndexSize(ctx context.Context, ix queue.Index) (int64, error)
	InIndex(ctx context.Context, ix queue.Index, ids []string) (map[string]bool, error)
	LoadMany(ctx context.Context, agent string, ids []string) ([]queue.Listed, error)
	MarkRead(ctx context.Context, agent, convID string) error
	SetLabels(ctx context.Context, rec *queue.Record) error
	TranscriptPage(ctx context.Context, convID, before string, n int) ([]queue.Entry, string, error)
	BackfillIndexes(ctx context.Context, channel string) (int, error)
}

var _ Inboxes = (*queue.Store)(nil)

// Listing bounds.
const (
	DefaultListLimit = 50
	MaxListLimit     = 200
	// SearchScan is how many of each channel's most recent conversations a
	// search (q) looks through: a search is a bounded scan, not an index.
	SearchScan = 5000
	// DefaultTranscriptLimit and MaxTranscriptLimit bound a transcript page.
	DefaultTranscriptLimit = 100
	MaxTranscriptLimit     = 500
	// typingInterval is the least time between two typing indicators of a
	// conversation; more are answered without sending.
	typingInterval = 5 * time.Second
)

// listStates are the states the state filter takes.
var listStates = []string{string(routing.StateBot), string(routing.StateAsking), string(routing.StateWaiting),
	string(routing.StateAssigned), string(routing.StateEnded)}

// ListQuery selects conversations of the agent's channels; empty fields
// do not filter.
type ListQuery struct {
	State   string
	Channel string
	// AssignedTo is an agent id or "me".
	AssignedTo string
	Label      string
	Unread     bool
	// Q matches the user's name or id, a label or the last message's text,
	// case-insensitively, among each channel's SearchScan most recent
	// conversations.
	Q      string
	Limit  int
	Cursor string
}

// ConversationPage is one page of a listing.
type ConversationPage struct {
	Conversations []ConversationView `json:"conversations"`
	NextCursor    string             `json:"next_cursor,omitempty"`
}

func badRequest(msg string) error { return &Error{Code: CodeBadRequest, Message: msg} }

// ErrNoUserMessage refuses a read receipt or typing indicator for a
// conversation the user has not written in yet.
var ErrNoUserMessage = &Error{Code: CodeNoUserMessage, Message: "the user has sent no message in this conversation yet"}

// List returns a page of the conversations of the agent's channels, newest
// activity first. One index drives it (the agent's unread, a label, an
// agent, a state, or all, in that order of preference) per channel; the
// channels' pages are merged by (activity, id), and the other filters are
// checked on each conversation. A cursor resumes after the last
// conversation of the previous page, so conversations that arrive
// meanwhile (newer) never shift it. Conversations that expired are dropped
// from the index on the way.
func (e *Engine) List(ctx context.Context, a Agent, q ListQuery) (ConversationPage, error) {
	s := e.setup.Load()
	if err := e.checkQuery(s, a, &q); err != nil {
		return ConversationPage{}, err
	}
	var after *queue.Position
	if q.Cursor != "" {
		p, err := queue.DecodeCursor(q.Cursor)
		if err != nil {
			return ConversationPage{}, badRequest("cursor: not a cursor of this listing")
		}
		after = &p
	}
	chans := a.Channels
	if q.Channel != "" {
		chans = []string{q.Channel}
	}
	streams := make([]*listStream, len(chans))
	for i, ch := range chans {
		streams[i] = &listStream{ix: driver(ch, a, q), after: after, budget: -1}
		if q.Q != "" {
			streams[i].budget = SearchScan
		}
	}
	want := q.Limit + 1 // one more tells whether a next page exists
	var found []queue.Listed
	var positions []queue.Position
	for len(found) < want {
		batch, err := e.nextCandidates(ctx, streams, want-len(found))
		if err != nil {
			return ConversationPage{}, err
		}
		if len(batch) == 0 {
			break
		}
		ids := make([]string, len(batch))
		for i, c := range batch {
			ids[i] = c.pos.ID
		}
		listed, err := e.inboxes.LoadMany(ctx, a.ID, ids)
		if err != nil {
			return ConversationPage{}, err
		}
		for i, l := range listed {
			if l.Record.Version == 0 {
				if err := e.inboxes.Drop(ctx, batch[i].stream.ix, l.Record.ID); err != nil {
					return ConversationPage{}, err
				}
				continue
			}
			if len(found) < want && q.matches(l) {
				found = append(found, l)
				positions = append(positions, batch[i].pos)
			}
		}
	}
	page := ConversationPage{Conversations: []ConversationView{}}
	if len(found) > q.Limit {
		found = found[:q.Limit]
		page.NextCursor = queue.EncodeCursor(positions[q.Limit-1])
	}
	now := e.now()
	for _, l := range found {
		v := view(s.channels[l.Record.Channel], l.Record, l.Position, now)
		v.Unread = l.Unread
		page.Conversations = append(page.Conversations, v)
	}
	return page, nil
}

// checkQuery validates a listing's filters and fills in defaults.
func (e *Engine) checkQuery(s *setup, a Agent, q *ListQuery) error {
	switch {
	case q.Limit == 0:
		q.Limit = DefaultListLimit
	case q.Limit < 1 || q.Limit > MaxListLimit:
		return badRequest("limit must be between 1 and 200")
	}
	if q.State != "" && !slices.Contains(listStates, q.State) {
		return badRequest("state must be one of " + strings.Join(listStates, ", ") + ", missed")
	}
	if q.Channel != "" && !a.Serves(q.Channel) {
		return &Error{Code: CodeForbidden, Message: "channel is not one of the agent's channels"}
	}
	switch q.AssignedTo {
	case "":
	case "me":
		q.AssignedTo = a.ID
	default:
		if _, ok := s.agents[q.AssignedTo]; !ok {
			return badRequest("assigned_to must be me or an agent id")
		}
	}
	if q.Label != "" && !slices.Contains(s.cfg.Labels, q.Label) {
		return unknownLabel(s, q.Label)
	}
	return nil
}

func unknownLabel(s *setup, label string) error {
	if len(s.cfg.Labels) == 0 {
		return badRequest("unknown label " + label + ": no labels are configured")
	}
	return badRequest("unknown label " + label + "; labels are " + strings.Join(s.cfg.Labels, ", "))
}

// driver picks the index that drives a channel's listing.
func driver(ch string, a Agent, q ListQuery) queue.Index {
	switch {
	case q.Unread:
		return queue.Index{Channel: ch, Kind: queue.IndexUnread, Value: a.ID}
	case q.Label != "":
		return queue.Index{Channel: ch, Kind: queue.IndexLabel, Value: q.Label}
	case q.AssignedTo != "":
		return queue.Index{Channel: ch, Kind: queue.IndexAgent, Value: q.AssignedTo}
	case q.State != "":
		return queue.Index{Channel: ch, Kind: queue.IndexState, Value: q.State}
	}
	return queue.Index{Channel: ch}
}

// matches checks every filter on a loaded conversation (the driving
// index's own included: an index member may be a step behind a change).
func (q *ListQuery) matches(l queue.Listed) bool {
	rec := l.Record
	switch {
	case q.State != "" && string(rec.State) != q.State,
		q.AssignedTo != "" && rec.AssignedTo != q.AssignedTo,
		q.Label != "" && !slices.Contains(rec.Labels, q.Label),
		q.Unread && l.Unread == 0:
		return false
	}
	return q.Q == "" || searchMatches(rec, strings.ToLower(q.Q))
}

func searchMatches(rec *queue.Record, q string) bool {
	text := []string{rec.User.ID, rec.User.Name}
	text = append(text, rec.Labels...)
	if rec.LastMessage != nil {
		text = append(text, rec.LastMessage.Text)
	}
	for _, t := range text {
		if strings.Contains(strings.ToLower(t), q) {
			return true
		}
	}
	return false
}

// listStream is one channel's index as a listing reads it.
type listStream struct {
	ix    queue.Index
	after *queue.Position
	buf   []queue.Position
	done  bool
	// budget is how many members the stream may still read; < 0: no bound.
	budget int
}

type listCandidate struct {
	pos    queue.Position
	stream *listStream
}

// nextCandidates takes up to n members in merged newest-first order,
// reading each channel's index n+1 at a time as its buffer runs out.
func (e *Engine) nextCandidates(ctx context.Context, streams []*listStream, n int) ([]listCandidate, error) {
	var out []listCandidate
	for len(out) < n {
		var best *listStream
		for _, st := range streams {
			if len(st.buf) == 0 && !st.done {
				if err := e.fill(ctx, st, n+1); err != nil {
					return nil, err
				}
			}
			if len(st.buf) > 0 && (best == nil || st.buf[0].Before(best.buf[0])) {
				best = st
			}
		}
		if best == nil {
			break
		}
		out = append(out, listCandidate{best.buf[0], best})
		best.buf = best.buf[1:]
	}
	return out, nil
}

func (e *Engine) fill(ctx context.Context, st *listStream, n int) error {
	if st.budget >= 0 {
		n = min(n, st.budget)
		if n == 0 {
			st.done = true
			return nil
		}
	}
	ps, err := e.inboxes.Members(ctx, st.ix, st.after, n)
	if err != nil {
		return err
	}
	if st.budget >= 0 {
		st.budget -= len(ps)
	}
	if len(ps) < n {
		st.done = true
	}
	if len(ps) > 0 {
		st.after = &ps[len(ps)-1]
	}
	st.buf = ps
	return nil
}

// MarkRead records that the agent read a conversation (its unread count
// becomes 0) and sends the platform's read receipt for the user's last
// message, best-effort: a failed receipt is logged.
func (e *Engine) MarkRead(ctx context.Context, a Agent, convID string) error {
	rec, ch, err := e.userConversation(ctx, a, convID)
	if err != nil {
		return err
	}
	if err := e.inboxes.MarkRead(ctx, a.ID, rec.ID); err != nil {
		return err
	}
	e.sendSignal(ctx, ch, rec, channels.Outbound{To: rec.User.ID, MarkRead: rec.LastUserMessageID}, "read receipt")
	return nil
}

// Typing shows the user a typing indicator (with the read receipt the
// platforms send with it), at most once per typingInterval per
// conversation: more calls within it send nothing.
func (e *Engine) Typing(ctx context.Context, a Agent, convID string) error {
	rec, ch, err := e.userConversation(ctx, a, convID)
	if err != nil {
		return err
	}
	if !e.typing.allow(rec.ID, e.now()) {
		return nil
	}
	e.sendSignal(ctx, ch, rec, channels.Outbound{To: rec.User.ID, Typing: true, MarkRead: rec.LastUserMessageID}, "typing indicator")
	return nil
}

// userConversation authorizes a conversation with a user message to
// answer a signal for.
func (e *Engine) userConversation(ctx context.Context, a Agent, convID string) (*queue.Record, *channel, error) {
	rec, err := e.authorize(ctx, a, convID)
	if err != nil {
		return nil, nil, err
	}
	ch, ok := e.setup.Load().channels[rec.Channel]
	if !ok {
		return nil, nil, queue.ErrNotFound
	}
	if rec.LastUserMessageID == "" {
		return nil, nil, ErrNoUserMessage
	}
	return rec, ch, nil
}

// sendSignal sends a read receipt or typing indicator straight through the
// channel's sender: they are best-effort, not worth a retried task.
func (e *Engine) sendSignal(ctx context.Context, ch *channel, rec *queue.Record, out channels.Outbound, what string) {
	if _, err := ch.sender.Send(ctx, out); err != nil {
		e.log.WarnContext(ctx, what+" not sent", "channel", ch.id, "conversation", rec.ID, "err", err)
	}
}

// throttle lets one event per key through per interval.
type throttle struct {
	mu   sync.Mutex
	last map[string]time.Time
}

func (t *throttle) allow(key string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.last == nil {
		t.last = map[string]time.Time{}
	}
	if at, ok := t.last[key]; ok && now.Sub(at) < typingInterval {
		return false
	}
	if len(t.last) >= 10000 {
		for k, at := range t.last {
			if now.Sub(at) >= typingInterval {
				delete(t.last, k)
			}
		}
	}
	t.last[key] = now
	return true
}

// SetLabels replaces a conversation's labels with labels, each one of the
// configured labels, and returns the conversation.
func (e *Engine) SetLabels(ctx context.Context, a Agent, convID string, labels []string) (ConversationView, error) {
	s := e.setup.Load()
	clean := []string{}
	for _, l := range labels {
		if !slices.Contains(s.cfg.Labels, l) {
			return ConversationView{}, unknownLabel(s, l)
		}
		if !slices.Contains(clean, l) {
			clean = append(clean, l)
		}
	}
	for attempt := 0; ; attempt++ {
		rec, err := e.authorize(ctx, a, convID)
		if err != nil {
			return ConversationView{}, err
		}
		rec.Labels = clean
		err = e.inboxes.SetLabels(ctx, rec)
		if errors.Is(err, queue.ErrConflict) && attempt < maxConflicts {
			continue
		}
		if err != nil {
			return ConversationView{}, err
		}
		e.log.InfoContext(ctx, "labels set", "agent", a.ID, "conversation", rec.ID, "labels", clean)
		return e.listedView(ctx, s, a, rec.ID)
	}
}

// listedView is one conversation as a listing shows it to the agent.
func (e *Engine) listedView(ctx context.Context, s *setup, a Agent, convID string) (ConversationView, error) {
	listed, err := e.inboxes.LoadMany(ctx, a.ID, []string{convID})
	if err != nil {
		return ConversationView{}, err
	}
	l := listed[0]
	if l.Record.Version == 0 {
		return ConversationView{}, queue.ErrNotFound
	}
	v := view(s.channels[l.Record.Channel], l.Record, l.Position, e.now())
	v.Unread = l.Unread
	return v, nil
}

// CannedResponse is a canned response as the agent API lists it.
type CannedResponse struct {
	Shortcut string `json:"shortcut"`
	Text     string `json:"text"`
}

// Canned lists the canned responses for the agent's channels: those
// without channels, and those naming one the agent serves. Placeholders
// stay in the text, for the client to fill in.
func (e *Engine) Canned(a Agent) []CannedResponse {
	out := []CannedResponse{}
	for _, r := range e.setup.Load().cfg.CannedResponses {
		if len(r.Channels) == 0 || slices.ContainsFunc(r.Channels, a.Serves) {
			out = append(out, CannedResponse{Shortcut: r.Shortcut, Text: r.Text})
		}
	}
	return out
}

// Labels are the configured labels agents may put on conversations.
func (e *Engine) Labels() []string {
	return append([]string{}, e.setup.Load().cfg.Labels...)
}

// Templates are the names of the WhatsApp templates an agent may send,
// by channel, for those of the agent's channels that have any.
func (e *Engine) Templates(a Agent) map[string][]string {
	cfg := e.setup.Load().cfg
	out := map[string][]string{}
	for _, id := range a.Channels {
		ch, ok := cfg.Channel(id)
		if !ok {
			continue
		}
		for _, tp := range ch.Templates {
			out[id] = append(out[id], tp.Name)
		}
	}
	return out
}

// Colleague is an agent as its colleagues see it.
type Colleague struct {
	ID                string         `json:"id"`
	Name              string         `json:"name"`
	Role              string         `json:"role"`
	Presence          queue.Presence `json:"presence"`
	OpenConversations int            `json:"open_conversations"`
	Channels          []string       `json:"channels"`
}

// Colleagues lists the agents who share a channel with a (a included), in
// id order, with their presence and the conversations they hold on the
// channels they serve.
func (e *Engine) Colleagues(ctx context.Context, a Agent) ([]Colleague, error) {
	s := e.setup.Load()
	var ids []string
	chans := map[string]bool{}
	for id, ag := range s.agents {
		if slices.ContainsFunc(ag.Channels, a.Serves) {
			ids = append(ids, id)
			for _, ch := range ag.Channels {
				chans[ch] = true
			}
		}
	}
	slices.Sort(ids)
	presence, _, err := e.presence.Presences(ctx, ids)
	if err != nil {
		return nil, err
	}
	var all []string
	for ch := range chans {
		all = append(all, ch)
	}
	held, err := e.line.Held(ctx, all)
	if err != nil {
		return nil, err
	}
	out := []Colleague{}
	for _, id := range ids {
		ag := s.agents[id]
		p := presence[id]
		if p == "" {
			p = queue.Offline
		}
		out = append(out, Colleague{ID: id, Name: ag.Name, Role: "agent", Presence: p, OpenConversations: held[id], Channels: ag.Channels})
	}
	return out, nil
}

// labelCounts counts a channel's conversations per configured label.
func (e *Engine) labelCounts(ctx context.Context, s *setup, channel string) (map[string]int64, error) {
	out := map[string]int64{}
	for _, l := range s.cfg.Labels {
		n, err := e.inboxes.IndexSize(ctx, queue.Index{Channel: channel, Kind: queue.IndexLabel, Value: l})
		if err != nil {
			return nil, err
		}
		out[l] = n
	}
	return out, nil
}

// labelled says which of the sessions' conversations carry label on
// channel; nil when label is "" (no filter).
func (e *Engine) labelled(ctx context.Context, channel, label string, recs []queue.SessionRecord) (map[string]bool, error) {
	if label == "" {
		return nil, nil
	}
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.Conversation
	}
	return e.inboxes.InIndex(ctx, queue.Index{Channel: channel, Kind: queue.IndexLabel, Value: label}, ids)
}

// backfillIndexes indexes, once per channel, the conversations stored
// before the inbox indexes existed. It runs in the background at start;
// until it is done such conversations are missing from listings, never
// wrong in them.
func (e *Engine) backfillIndexes(ctx context.Context) {
	for _, ch := range e.setup.Load().sortedChannels() {
		n, err := e.inboxes.BackfillIndexes(ctx, ch)
		if err != nil {
			e.log.Warn("inbox indexes not backfilled; the next start tries again", "channel", ch, "err", err)
			continue
		}
		if n > 0 {
			e.log.Info("inbox indexes backfilled", "channel", ch, "conversations", n)
		}
	}
}

// backgroundJob runs one function in the background until it returns or
// is stopped.
type backgroundJob struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func (j *backgroundJob) start(f func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	j.cancel, j.done = cancel, make(chan struct{})
	go func() {
		defer close(j.done)
		f(ctx)
	}()
}

func (j *backgroundJob) stop() {
	if j.cancel != nil {
		j.cancel()
		<-j.done
	}
}

// retention is how long ended conversations are kept under s.
func (s *setup) retention() time.Duration { return s.cfg.Retention.Ended }
