package queue_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/channels"
	"switchboard/queue"
	"switchboard/queue/redistest"
	"switchboard/routing"
)

var t0 = time.Date(2026, 11, 20, 22, 0, 0, 0, time.UTC)

func openStore(t *testing.T) (*queue.Redis, *queue.Store) {
	t.Helper()
	_, r := openRedis(t)
	return r, r.Store()
}

// openRedis starts a Redis for t and connects to it.
// optionsFor returns o set to connect to srv: its URL, or its cluster or
// Sentinels.
func optionsFor(srv *redistest.Server, o queue.Options) queue.Options {
	switch srv.Kind {
	case "cluster":
		o.Cluster = srv.Cluster
	case "sentinel":
		o.SentinelMaster, o.SentinelAddrs = redistest.SentinelMaster, srv.SentinelAddrs
	default:
		o.URL = srv.URL
	}
	return o
}

func openRedis(t *testing.T) (*redistest.Server, *queue.Redis) {
	t.Helper()
	srv := redistest.Start(t)
	r, err := queue.Open(context.Background(), optionsFor(srv, queue.Options{Prefix: "t:"}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return srv, r
}

func TestConversationIDRoundTrip(t *testing.T) {
	for _, ch := range []string{"wa-main", "fb_page", "x"} {
		id := queue.ConversationID(ch, "5511987654321")
		if got := queue.ChannelOf(id); got != ch {
			t.Errorf("ChannelOf(%q) = %q, want %q", id, got, ch)
		}
	}
	for _, bad := range []string{"", "c_", "c__abc", "x_wa_0123456789abcdef0123", "c_wa_short"} {
		if got := queue.ChannelOf(bad); got != "" {
			t.Errorf("ChannelOf(%q) = %q, want empty", bad, got)
		}
	}
}

func TestAcceptDeduplicates(t *testing.T) {
	_, st := openStore(t)
	ctx := context.Background()
	ev := &channels.Event{ID: "wamid.1", Channel: "wa", Platform: channels.WhatsApp, User: channels.User{ID: "u1"}, Kind: channels.KindText, Text: "hi", Timestamp: t0}
	conv := queue.ConversationID("wa", "u1")

	var wg sync.WaitGroup
	results := make([]queue.Accepted, 5)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := st.Accept(ctx, ev, conv, time.Hour, t0)
			if err != nil {
				t.Error(err)
			}
			results[i] = res
		}()
	}
	wg.Wait()
	news := 0
	for _, r := range results {
		if r == queue.AcceptedNew {
			news++
		} else if r != queue.AcceptedPending {
			t.Errorf("duplicate while still in the inbox = %v, want AcceptedPending", r)
		}
	}
	if news != 1 {
		t.Fatalf("%d of 5 concurrent deliveries accepted as new, want 1", news)
	}
	batch, ok, err := st.Take(ctx, conv, "worker-1", time.Minute, 10, true)
	if err != nil || !ok || len(batch.Events) != 1 || batch.Events[0].Text != "hi" || batch.Record.Version != 0 {
		t.Fatalf("take = %+v, %v, %v; want the one event of a new conversation", batch, ok, err)
	}
	if _, ok, _ := st.Take(ctx, conv, "worker-2", time.Minute, 10, true); ok {
		t.Fatal("a second worker took a locked conversation")
	}
	// Once consumed, a redelivery is a plain duplicate.
	rec, _ := st.Load(ctx, conv)
	if err := st.Commit(ctx, &queue.Commit{Record: rec, Ack: ev.ID}); err != nil {
		t.Fatal(err)
	}
	if res, _ := st.Accept(ctx, ev, conv, time.Hour, t0); res != queue.AcceptedDuplicate {
		t.Fatalf("redelivery after processing = %v, want AcceptedDuplicate", res)
	}
}

func TestInboxOrdersByTimestampThenArrival(t *testing.T) {
	_, st := openStore(t)
	ctx := context.Background()
	conv := queue.ConversationID("wa", "u1")
	add := func(id string, at time.Time) {
		ev := &channels.Event{ID: id, Channel: "wa", User: channels.User{ID: "u1"}, Kind: channels.KindText, Timestamp: at}
		if _, err := st.Accept(ctx, ev, conv, time.Hour, t0); err != nil {
			t.Fatal(err)
		}
	}
	add("late", t0.Add(2*time.Second))
	add("same-b", t0)
	add("same-a", t0) // same second, arrived later: stays after same-b
	add("early", t0.Add(-time.Second))
	batch, _, _ := st.Take(ctx, conv, "worker-1", time.Minute, 10, true)
	var got []string
	for _, e := range batch.Events {
		got = append(got, e.ID)
	}
	if fmt.Sprint(got) != "[early same-b same-a late]" {
		t.Fatalf("inbox order = %v", got)
	}
}

func TestCommitDetectsConcurrentChange(t *testing.T) {
	_, st := openStore(t)
	ctx := context.Background()
	conv := queue.ConversationID("wa", "u1")
	a, _ := st.Load(ctx, conv)
	b, _ := st.Load(ctx, conv)
	a.State, b.State = routing.StateBot, routing.StateWaiting
	if err := st.Commit(ctx, &queue.Commit{Record: a}); err != nil {
		t.Fatal(err)
	}
	if err := st.Commit(ctx, &queue.Commit{Record: b}); !errors.Is(err, queue.ErrConflict) {
		t.Fatalf("stale commit = %v, want ErrConflict", err)
	}
	got, _ := st.Load(ctx, conv)
	if got.State != routing.StateBot || got.Version != 1 {
		t.Fatalf("stored %v v%d, want bot v1", got.State, got.Version)
	}
}

// join puts n conversations of channel ch in its line, one second apart.
func join(t *testing.T, st *queue.Store, ch string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = queue.ConversationID(ch, fmt.Sprint("user", i))
		rec, _ := st.Load(context.Background(), ids[i])
		rec.State = routing.StateWaiting
		since := t0.Add(time.Duration(i) * time.Second)
		if err := st.Commit(context.Background(), &queue.Commit{Record: rec, Line: queue.LineJoin, Since: since}); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

func TestLineIsFIFOWithPositions(t *testing.T) {
	_, st := openStore(t)
	ctx := context.Background()
	ids := join(t, st, "wa", 3)
	line, err := st.Line(ctx, "wa", 0)
	if err != nil || len(line) != 3 || line[0].Conversation != ids[0] || !line[2].Since.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("line = %+v, %v", line, err)
	}
	if p, _ := st.Position(ctx, ids[1]); p != 2 {
		t.Fatalf("position of the second = %d, want 2", p)
	}
	w, ok, err := st.Claim(ctx, "wa", t0)
	if err != nil || !ok || w.Conversation != ids[0] {
		t.Fatalf("claim = %+v %v %v, want the oldest", w, ok, err)
	}
	// The claim reads the conversation in the same step: what Load reads.
	loaded, err := st.Load(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if w.Record == nil || !reflect.DeepEqual(*w.Record, *loaded) || w.Record.Version == 0 {
		t.Fatalf("claimed record = %+v, want %+v", w.Record, loaded)
	}
	if p, _ := st.Position(ctx, ids[1]); p != 1 {
		t.Fatalf("position after a claim = %d, want 1", p)
	}
	// An uncommitted claim goes back to its original place.
	if err := st.Unclaim(ctx, w); err != nil {
		t.Fatal(err)
	}
	if p, _ := st.Position(ctx, ids[0]); p != 1 {
		t.Fatalf("position after unclaim = %d, want 1", p)
	}
}

// Claimers of every line at once (on a Cluster, each claim reads the
// heads and then races for one) take each conversation once.
func TestConcurrentClaimsTakeEachConversationOnce(t *testing.T) {
	_, st := openStore(t)
	ctx := context.Background()
	const waiting, claimers = 1000, 50
	chans := []string{"wa", "fb", "ig"}
	for i, ch := range chans {
		n := waiting / len(chans)
		if i < waiting%len(chans) {
			n++
		}
		join(t, st, ch, n)
	}

	var mu sync.Mutex
	taken := map[string]int{}
	var wg sync.WaitGroup
	for range claimers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				w, ok, err := st.ClaimOldest(ctx, queue.Claimer{Channels: chans}, t0)
				if err != nil {
					t.Error(err)
					return
				}
				if !ok {
					return
				}
				mu.Lock()
				taken[w.Conversation]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(taken) != waiting {
		t.Fatalf("%d distinct conversations taken, want %d", len(taken), waiting)
	}
	for id, n := range taken {
		if n != 1 {
			t.Fatalf("%s taken %d times", id, n)
		}
	}
}

// Due lists the open conversations idle since the cutoff or before,
// longest idle first, across states; an ended one is never due.
func TestDueListsOpenConversationsIdleSinceTheCutoff(t *testing.T) {
	_, st := openStore(t)
	ctx := context.Background()
	commit := func(user string, state routing.State, idle time.Duration) string {
		t.Helper()
		rec, _ := st.Load(ctx, queue.ConversationID("wa", user))
		rec.State, rec.LastActivity = state, t0.Add(-idle)
		if err := st.Commit(ctx, &queue.Commit{Record: rec}); err != nil {
			t.Fatal(err)
		}
		return rec.ID
	}
	waiting := commit("u1", routing.StateWaiting, time.Minute)
	bot := commit("u2", routing.StateBot, 2*time.Minute)
	commit("u3", routing.StateAssigned, -time.Minute)
	commit("u4", routing.StateEnded, time.Hour)
	atCutoff := commit("u5", routing.StateAsking, 0)
	due, err := st.Due(ctx, "wa", t0, 100)
	if want := []string{bot, waiting, atCutoff}; err != nil || !slices.Equal(due, want) {
		t.Fatalf("due = %v, %v; want %v", due, err, want)
	}
	if due, err := st.Due(ctx, "wa", t0, 1); err != nil || !slices.Equal(due, []string{bot}) {
		t.Errorf("one due = %v, %v; want the longest idle", due, err)
	}
}

func TestDeliveryStatusOnlyMovesForward(t *testing.T) {
	_, st := openStore(t)
	ctx := context.Background()
	conv := queue.ConversationID("wa", "u1")
	part := queue.SendPart{Entry: "m_1"}
	job := queue.SendJob{ID: "j_1", Channel: "wa", Conversation: conv, Parts: []queue.SendPart{part}}
	if err := st.Append(ctx, conv, queue.Entry{ID: "m_1", Author: routing.AuthorBot, Kind: "message", Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	if err := st.Sent(ctx, job, part, []string{"wamid.OUT"}, true); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		status  channels.DeliveryStatus
		changed bool
	}{
		{channels.StatusRead, true},
		{channels.StatusDelivered, false}, // late delivered after read: ignored
		{channels.StatusFailed, true},
		{channels.StatusRead, false}, // failed is final
	}
	for _, s := range steps {
		e, changed, err := st.UpdateDelivery(ctx, conv, "wamid.OUT", s.status, "")
		if err != nil || e != "m_1" || changed != s.changed {
			t.Fatalf("%s: got %q changed=%v err=%v, want changed=%v", s.status, e, changed, err, s.changed)
		}
	}
	tx, _ := st.Transcript(ctx, conv)
	if len(tx) != 1 || tx[0].Delivery != "failed" {
		t.Fatalf("transcript = %+v, want one failed entry", tx)
	}
	if _, ok, _ := st.UpdateDelivery(ctx, conv, "wamid.UNKNOWN", channels.StatusRead, ""); ok {
		t.Fatal("unknown message id reported as updated")
	}
	if _, ok, _ := st.UpdateDelivery(ctx, queue.ConversationID("wa", "u2"), "wamid.OUT", channels.StatusRead, ""); ok {
		t.Fatal("a status in another user's conversation moved this one's message")
	}
}

// TestSentTheEarlierWay: a message whose platform id was recorded the
// earlier way (a key of its own, "m:<entry>" in the hash) still takes its
// statuses, is known as an echo, and is erased with the conversation.
func TestSentTheEarlierWay(t *testing.T) {
	srv, r := openRedis(t)
	st := r.Store()
	ctx := context.Background()
	raw := srv.Client()
	conv := queue.ConversationID("wa", "u1")
	if err := st.Append(ctx, conv, queue.Entry{ID: "m_1", Author: routing.AuthorBot, Kind: "message", Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	if err := raw.Set(ctx, "t:{wa}:mid:wamid.OLD", conv+" m_1", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if err := raw.HSet(ctx, "t:{wa}:conv:"+conv, "m:m_1", "wamid.OLD", "d:m_1", "1|sent|").Err(); err != nil {
		t.Fatal(err)
	}
	if known, err := st.KnownMessage(ctx, conv, "wamid.OLD"); err != nil || !known {
		t.Errorf("echo of a message sent the earlier way: known = %v, %v", known, err)
	}
	if _, ok, _ := st.UpdateDelivery(ctx, queue.ConversationID("wa", "u2"), "wamid.OLD", channels.StatusRead, ""); ok {
		t.Error("a status in another user's conversation moved a message sent the earlier way")
	}
	if e, ok, err := st.UpdateDelivery(ctx, conv, "wamid.OLD", channels.StatusRead, ""); err != nil || !ok || e != "m_1" {
		t.Errorf("status of a message sent the earlier way: %q, %v, %v", e, ok, err)
	}
	if tx, _ := st.Transcript(ctx, conv); len(tx) != 1 || tx[0].Delivery != "read" {
		t.Errorf("transcript = %+v, want the entry read", tx)
	}
	if _, _, err := st.Erase(ctx, "wa", "u1"); err != nil {
		t.Fatal(err)
	}
	if n, _ := raw.Exists(ctx, "t:{wa}:mid:wamid.OLD").Result(); n != 0 {
		t.Error("the earlier key of a sent message outlived the erasure")
	}
}

func TestEventsResumeFromCursor(t *testing.T) {
	_, st := openStore(t)
	ctx := context.Background()
	chans := []string{"wa", "fb"}
	cur := queue.Cursor{}
	if err := st.PinCursor(ctx, chans, cur); err != nil {
		t.Fatal(err)
	}
	// read reads each channel after the cursor, one key per command (a
	// Redis Cluster refuses a read across channels), advancing it.
	read := func(cur queue.Cursor) []queue.Notice {
		t.Helper()
		var out []queue.Notice
		for _, ch := range chans {
			got, err := st.ReadStream(ctx, ch, cur[ch], -1, 100)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range got {
				cur[ch] = n.ID
			}
			out = append(out, got...)
		}
		return out
	}
	if n := read(cur); len(n) != 0 {
		t.Fatalf("empty read = %v", n)
	}
	for i := range 3 {
		ch := []string{"wa", "fb", "wa"}[i]
		if err := st.Publish(ctx, queue.Notice{Type: routing.NoticeWaiting, Channel: ch, Conversation: fmt.Sprint("c", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if got := read(cur); len(got) != 3 {
		t.Fatalf("read = %+v; want 3 notices", got)
	}
	resumed := queue.ParseCursor(cur.String(chans))
	if err := st.Publish(ctx, queue.Notice{Type: routing.NoticeEnded, Channel: "fb", Conversation: "c9"}); err != nil {
		t.Fatal(err)
	}
	if got := read(resumed); len(got) != 1 || got[0].Conversation != "c9" {
		t.Fatalf("after resuming = %+v, want only the new notice", got)
	}
}

func TestHeldCountsFollowAssignments(t *testing.T) {
	_, st := openStore(t)
	ctx := context.Background()
	commit := func(id, state, agent string) {
		t.Helper()
		rec, err := st.Load(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		rec.State, rec.AssignedTo = routing.State(state), agent
		if err := st.Commit(ctx, &queue.Commit{Record: rec}); err != nil {
			t.Fatal(err)
		}
	}
	a, b := queue.ConversationID("wa", "u1"), queue.ConversationID("fb", "u2")
	commit(a, "assigned", "ana")
	commit(b, "assigned", "ana")
	commit(a, "assigned", "ana") // a new version for the same holder: not counted twice
	if held, _ := st.Held(ctx, []string{"wa", "fb"}); held["ana"] != 2 {
		t.Fatalf("held = %v, want ana 2", held)
	}
	if n, err := st.HeldBy(ctx, []string{"wa", "fb"}, "ana"); err != nil || n != 2 {
		t.Fatalf("HeldBy(ana) = %d, %v; want 2", n, err)
	}
	commit(a, "assigned", "bruno") // taken over
	commit(b, "ended", "")         // closed
	held, err := st.Held(ctx, []string{"wa", "fb"})
	if err != nil || held["ana"] != 0 || held["bruno"] != 1 {
		t.Fatalf("held = %v, %v; want ana 0, bruno 1", held, err)
	}
	// HeldBy reads one agent's count: the same figures.
	for agent, want := range map[string]int{"ana": 0, "bruno": 1, "carla": 0} {
		if n, err := st.HeldBy(ctx, []string{"wa", "fb"}, agent); err != nil || n != want {
			t.Errorf("HeldBy(%s) = %d, %v; want %d", agent, n, err, want)
		}
	}
	if n, _ := st.HeldBy(ctx, []string{"fb"}, "bruno"); n != 0 {
		t.Errorf("HeldBy(bruno) on fb alone = %d, want 0 (his conversation is on wa)", n)
	}
	// A claim counts the same figures: bruno, at his most, takes nothing.
	join(t, st, "fb", 1)
	bruno := queue.Claimer{Agent: "bruno", Channels: []string{"fb"}, Max: 1, Held: []string{"wa", "fb"}}
	if _, _, err := st.ClaimOldest(ctx, bruno, t0); !errors.Is(err, routing.ErrAtCapacity) {
		t.Errorf("claim of bruno at his most = %v, want ErrAtCapacity", err)
	}
	if n, _ := st.LineLength(ctx, "fb"); n != 1 {
		t.Errorf("fb's line after a claim refused = %d, want 1", n)
	}
	bruno.Max = 2
	if w, ok, err := st.ClaimOldest(ctx, bruno, t0); err != nil || !ok || w.Channel != "fb" {
		t.Errorf("claim of bruno with room = %+v, %v, %v; want the fb head", w, ok, err)
	}
}

// A stored state leaves out a WhatsApp user's phone when it is the user's
// id, and reads it back; states stored with the phone (as before) read the
// same, and users without a phone keep none.
func TestStoredPhone(t *testing.T) {
	srv, r := openRedis(t)
	st := r.Store()
	ctx := context.Background()
	raw := srv.Client()
	for _, tc := range []struct {
		name     string
		platform channels.Platform
		user     channels.User
		stored   string // what the state holds of the user
		// newOnly: the earlier format, which stored no phone, reads as
		// phone = id (Meta gives a WhatsApp number its phone).
		newOnly bool
	}{
		{"whatsapp, phone is the id", channels.WhatsApp, channels.User{ID: "5511999", Name: "Ana", Phone: "5511999"}, `"u":{"i":"5511999","n":"Ana"}`, false},
		{"whatsapp, another phone", channels.WhatsApp, channels.User{ID: "5511999", Phone: "5511888"}, `"u":{"i":"5511999","ph":"5511888"}`, false},
		{"whatsapp, a number without phone", channels.WhatsApp, channels.User{ID: "5511999"}, `"u":{"i":"5511999","ph":"-"}`, true},
		{"whatsapp, business-scoped id", channels.WhatsApp, channels.User{ID: "US.1349"}, `"u":{"i":"US.1349"}`, false},
		{"messenger, a number", channels.Messenger, channels.User{ID: "703519900000016"}, `"u":{"i":"703519900000016"}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := queue.ConversationID("wa", tc.user.ID+string(tc.platform))
			rec, err := st.Load(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			rec.Platform, rec.User, rec.State = tc.platform, tc.user, routing.StateBot
			if err := st.Commit(ctx, &queue.Commit{Record: rec}); err != nil {
				t.Fatal(err)
			}
			data, err := raw.Get(ctx, "t:{wa}:state:"+id).Result()
			if err != nil || !strings.Contains(data, tc.stored) {
				t.Errorf("stored state = %s, %v; want it to hold %s", data, err, tc.stored)
			}
			got, err := st.Load(ctx, id)
			if err != nil || got.User != tc.user {
				t.Errorf("loaded user = %+v, %v; want %+v", got.User, err, tc.user)
			}
			if tc.newOnly {
				return
			}
			// The state as the earlier format stored it: the phone in full.
			old, _ := json.Marshal(tc.user)
			raw.Set(ctx, "t:{wa}:state:"+id, `{"platform":"`+string(tc.platform)+`","user":`+string(old)+`,"state":"bot"}`, 0)
			if got, err := st.Load(ctx, id); err != nil || got.User != tc.user || got.State != routing.StateBot {
				t.Errorf("user of an earlier state = %+v, %v; want %+v", got.User, err, tc.user)
			}
		})
	}
}

// A listing's place in line is shown for a waiting conversation whose
// state is stored in the short form, and for one stored the earlier way
// before the indexes existed (no ix_state in its hash either).
func TestPlaceInLineOfEitherStateForm(t *testing.T) {
	srv, r := openRedis(t)
	st := r.Store()
	ctx := context.Background()
	raw := srv.Client()
	id := queue.ConversationID("wa", "5511999")
	rec, err := st.Load(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	rec.Platform, rec.User, rec.State = channels.WhatsApp, channels.User{ID: "5511999"}, routing.StateWaiting
	rec.Transferred, rec.WaitingSince = true, t0
	if err := st.Commit(ctx, &queue.Commit{Record: rec, Line: queue.LineJoin, Since: t0}); err != nil {
		t.Fatal(err)
	}
	place := func(form string) {
		t.Helper()
		got, err := st.LoadMany(ctx, "ana", []string{id})
		if err != nil || len(got) != 1 || got[0].Position != 1 || got[0].Record.State != routing.StateWaiting {
			t.Errorf("%s: listed = %+v, %v; want waiting, first in line", form, got, err)
		}
	}
	place("short form")
	raw.Set(ctx, "t:{wa}:state:"+id, `{"platform":"whatsapp","user":{"id":"5511999"},"state":"waiting","transferred":true}`, 0)
	raw.HDel(ctx, "t:{wa}:conv:"+id, "ix_state")
	place("earlier form, not indexed")
}
