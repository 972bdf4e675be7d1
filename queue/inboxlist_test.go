package queue_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"switchboard/channels"
	"switchboard/queue"
	"switchboard/queue/redistest"
	"switchboard/routing"
)

// commitConv commits a conversation of channel ch in state st with the
// given activity, user messages and labels, and returns its record.
func commitConv(t *testing.T, st *queue.Store, ch, user string, state routing.State, agent string, at time.Time, entries ...queue.Entry) *queue.Record {
	t.Helper()
	ctx := context.Background()
	id := queue.ConversationID(ch, user)
	rec, err := st.Load(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	rec.Platform, rec.User, rec.State, rec.AssignedTo, rec.LastActivity = channels.WhatsApp, channels.User{ID: user}, state, agent, at
	if err := st.Commit(ctx, &queue.Commit{Record: rec, Entries: entries, Retention: time.Hour}); err != nil {
		t.Fatal(err)
	}
	return rec
}

func userMsg(id, text string, at time.Time) queue.Entry {
	return queue.Entry{ID: queue.InboundEntryID(id), At: at, Author: routing.AuthorUser, Kind: "text", Text: text}
}

func ids(ps []queue.Position) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

func TestIndexesFollowCommits(t *testing.T) {
	_, st := openStore(t)
	ctx := context.Background()
	a := commitConv(t, st, "wa", "u1", routing.StateBot, "", t0)
	b := commitConv(t, st, "wa", "u2", routing.StateWaiting, "", t0.Add(time.Second))
	c := commitConv(t, st, "wa", "u3", routing.StateAssigned, "ana", t0.Add(2*time.Second))

	all, err := st.Members(ctx, queue.Index{Channel: "wa"}, nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(ids(all)), fmt.Sprint([]string{c.ID, b.ID, a.ID}); got != want {
		t.Errorf("all = %v, want %v (newest first)", got, want)
	}
	// Paging by position: two pages of one and two.
	first, _ := st.Members(ctx, queue.Index{Channel: "wa"}, nil, 1)
	rest, _ := st.Members(ctx, queue.Index{Channel: "wa"}, &first[0], 5)
	if got, want := fmt.Sprint(ids(rest)), fmt.Sprint([]string{b.ID, a.ID}); got != want {
		t.Errorf("after %s = %v, want %v", first[0].ID, got, want)
	}
	// b is claimed by ana: it leaves the waiting index, joins ana's.
	b = commitConv(t, st, "wa", "u2", routing.StateAssigned, "ana", t0.Add(3*time.Second), userMsg("m1", "hi", t0.Add(3*time.Second)))
	for ix, want := range map[queue.Index][]string{
		{Channel: "wa", Kind: queue.IndexState, Value: "waiting"}:  {},
		{Channel: "wa", Kind: queue.IndexState, Value: "assigned"}: {b.ID, c.ID},
		{Channel: "wa", Kind: queue.IndexAgent, Value: "ana"}:      {b.ID, c.ID},
		{Channel: "wa", Kind: queue.IndexUnread, Value: "ana"}:     {b.ID},
	} {
		got, err := st.Members(ctx, ix, nil, 10)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(ids(got)) != fmt.Sprint(want) {
			t.Errorf("index %+v = %v, want %v", ix, ids(got), want)
		}
	}
	got, err := st.LoadMany(ctx, "ana", []string{b.ID, c.ID})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Record.State != routing.StateAssigned || got[0].Unread != 1 || got[1].Unread != 0 {
		t.Errorf("LoadMany: %v, unread %d %d; want assigned, unread 1 0", got[0].Record.State, got[0].Unread, got[1].Unread)
	}
	if err := st.MarkRead(ctx, "ana", b.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Members(ctx, queue.Index{Channel: "wa", Kind: queue.IndexUnread, Value: "ana"}, nil, 10); len(got) != 0 {
		t.Errorf("unread index after read = %v, want empty", ids(got))
	}
}

func TestCursorRoundTrip(t *testing.T) {
	p := queue.Position{Activity: 1764540000123, ID: queue.ConversationID("wa", "u1")}
	got, err := queue.DecodeCursor(queue.EncodeCursor(p))
	if err != nil || got != p {
		t.Errorf("round trip = %+v, %v; want %+v", got, err, p)
	}
	for _, bad := range []string{"", "!!", "e30", "eyJhIjoxLCJpIjoieCJ9"} {
		if _, err := queue.DecodeCursor(bad); !errors.Is(err, queue.ErrBadCursor) {
			t.Errorf("DecodeCursor(%q) = %v, want ErrBadCursor", bad, err)
		}
	}
}

func TestLabelsIndex(t *testing.T) {
	_, st := openStore(t)
	ctx := context.Background()
	rec := commitConv(t, st, "wa", "u1", routing.StateBot, "", t0)
	rec.Labels = []string{"vip", "billing"}
	if err := st.SetLabels(ctx, rec); err != nil {
		t.Fatal(err)
	}
	stale := *rec
	stale.Version--
	if err := st.SetLabels(ctx, &stale); !errors.Is(err, queue.ErrConflict) {
		t.Errorf("stale SetLabels = %v, want ErrConflict", err)
	}
	rec.Labels = []string{"billing"}
	if err := st.SetLabels(ctx, rec); err != nil {
		t.Fatal(err)
	}
	for label, want := range map[string]int64{"vip": 0, "billing": 1} {
		if n, _ := st.IndexSize(ctx, queue.Index{Channel: "wa", Kind: queue.IndexLabel, Value: label}); n != want {
			t.Errorf("label %s has %d members, want %d", label, n, want)
		}
	}
	// A commit keeps the labels and their index.
	rec = commitConv(t, st, "wa", "u1", routing.StateWaiting, "", t0.Add(time.Minute))
	if fmt.Sprint(rec.Labels) != "[billing]" {
		t.Errorf("labels after commit = %v", rec.Labels)
	}
	got, _ := st.Members(ctx, queue.Index{Channel: "wa", Kind: queue.IndexLabel, Value: "billing"}, nil, 5)
	if len(got) != 1 || got[0].Activity != t0.Add(time.Minute).UnixMilli() {
		t.Errorf("billing index = %+v, want the conversation at its new activity", got)
	}
}

func TestEndedConversationExpires(t *testing.T) {
	srv, r := openRedis(t)
	st := r.Store()
	ctx := context.Background()
	commitConv(t, st, "wa", "u1", routing.StateEnded, "", t0, userMsg("m1", "bye", t0))
	srv.FastForward(30 * time.Minute)
	// Back before the retention ran out: kept for good again.
	rec := commitConv(t, st, "wa", "u1", routing.StateBot, "", t0.Add(time.Minute), userMsg("m2", "again", t0))
	srv.FastForward(2 * time.Hour)
	if got, _ := st.Load(ctx, rec.ID); got.Version == 0 {
		t.Fatal("a conversation that came back expired")
	}
	commitConv(t, st, "wa", "u1", routing.StateEnded, "", t0.Add(2*time.Minute))
	srv.FastForward(2 * time.Hour)
	got, err := st.Load(ctx, rec.ID)
	if err != nil || got.Version != 0 {
		t.Errorf("ended conversation after its retention: version %d, %v; want gone", got.Version, err)
	}
	if tx, _, _ := st.TranscriptPage(ctx, rec.ID, "", 10); len(tx) != 0 {
		t.Errorf("transcript after retention = %d entries, want none", len(tx))
	}
	// Its index entries are dropped by whoever meets them.
	ix := queue.Index{Channel: "wa", Kind: queue.IndexState, Value: "ended"}
	if err := st.Drop(ctx, ix, rec.ID); err != nil {
		t.Fatal(err)
	}
	if n, _ := st.IndexSize(ctx, queue.Index{Channel: "wa"}); n != 0 {
		t.Errorf("index of all after drop has %d members", n)
	}
}

func TestTranscriptPages(t *testing.T) {
	_, st := openStore(t)
	ctx := context.Background()
	var entries []queue.Entry
	for i := range 7 {
		entries = append(entries, userMsg(fmt.Sprintf("m%d", i), fmt.Sprint(i), t0))
	}
	rec := commitConv(t, st, "wa", "u1", routing.StateBot, "", t0, entries[:5]...)
	note := queue.Entry{ID: queue.NewEntryID(), At: t0, Author: routing.AuthorAgent, Kind: "note", Text: "5"}
	if err := st.Append(ctx, rec.ID, note); err != nil {
		t.Fatal(err)
	}
	commitConv(t, st, "wa", "u1", routing.StateBot, "", t0, entries[5:]...)
	var texts []string
	before, pages := "", 0
	for {
		page, next, err := st.TranscriptPage(ctx, rec.ID, before, 3)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		var p []string
		for _, e := range page {
			p = append(p, e.Text)
		}
		texts = append(p, texts...)
		if next == "" {
			break
		}
		before = next
	}
	if got := fmt.Sprint(texts); got != "[0 1 2 3 4 5 5 6]" || pages != 3 {
		t.Errorf("pages = %d, texts %v; want 3 pages of [0 1 2 3 4 5 5 6]", pages, got)
	}
	if _, _, err := st.TranscriptPage(ctx, rec.ID, "gw_nope", 3); !errors.Is(err, queue.ErrUnknownEntry) {
		t.Errorf("unknown before = %v, want ErrUnknownEntry", err)
	}
}

func TestBackfillIndexes(t *testing.T) {
	srv, r := openRedis(t)
	st := r.Store()
	ctx := context.Background()
	rec := commitConv(t, st, "wa", "u1", routing.StateAssigned, "ana", t0)
	// Make it look like a conversation stored before the indexes existed.
	raw := srv.Client()
	for _, k := range redistest.Keys(t, raw, "t:{wa}:ix:*") {
		raw.Del(ctx, k)
	}
	raw.HDel(ctx, "t:{wa}:conv:"+rec.ID, "ix_state", "ix_agent", "ix_labels")

	n, err := st.BackfillIndexes(ctx, "wa")
	if err != nil || n != 1 {
		t.Fatalf("backfill = %d, %v; want 1", n, err)
	}
	got, _ := st.Members(ctx, queue.Index{Channel: "wa", Kind: queue.IndexAgent, Value: "ana"}, nil, 5)
	if len(got) != 1 || got[0].ID != rec.ID {
		t.Errorf("ana's index after backfill = %v", ids(got))
	}
	// Once per channel.
	if n, err := st.BackfillIndexes(ctx, "wa"); err != nil || n != 0 {
		t.Errorf("second backfill = %d, %v; want 0", n, err)
	}
}

// The conversation's hash remembers its agent and labels only when it has
// them; a hash written with empty fields (before) is read and moved the
// same way.
func TestIndexFieldsOnlyWhenSet(t *testing.T) {
	srv, r := openRedis(t)
	st := r.Store()
	ctx := context.Background()
	raw := srv.Client()
	rec := commitConv(t, st, "wa", "u1", routing.StateWaiting, "", t0)
	key := "t:{wa}:conv:" + rec.ID
	fields, err := raw.HGetAll(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := fields["ix_agent"]; ok || fields["ix_state"] != "waiting" {
		t.Errorf("hash of a waiting conversation = %v, want ix_state and no ix_agent", fields)
	}
	if _, ok := fields["ix_labels"]; ok {
		t.Errorf("hash of an unlabelled conversation = %v, want no ix_labels", fields)
	}
	// Assigned: the agent is remembered; released to the line: forgotten.
	commitConv(t, st, "wa", "u1", routing.StateAssigned, "ana", t0.Add(time.Second))
	if a, _ := raw.HGet(ctx, key, "ix_agent").Result(); a != "ana" {
		t.Errorf("ix_agent of an assigned conversation = %q, want ana", a)
	}
	commitConv(t, st, "wa", "u1", routing.StateWaiting, "", t0.Add(2*time.Second))
	if n, _ := raw.HExists(ctx, key, "ix_agent").Result(); n {
		t.Error("ix_agent kept after the conversation went back to the line")
	}
	// A hash as the earlier format wrote it, empty fields included.
	raw.HSet(ctx, key, "ix_agent", "", "ix_labels", "")
	commitConv(t, st, "wa", "u1", routing.StateAssigned, "bruno", t0.Add(3*time.Second))
	for ix, want := range map[queue.Index]int{
		{Channel: "wa", Kind: queue.IndexState, Value: "waiting"}:  0,
		{Channel: "wa", Kind: queue.IndexState, Value: "assigned"}: 1,
		{Channel: "wa", Kind: queue.IndexAgent, Value: "bruno"}:    1,
		{Channel: "wa", Kind: queue.IndexAgent, Value: "ana"}:      0,
	} {
		if got, err := st.Members(ctx, ix, nil, 10); err != nil || len(got) != want {
			t.Errorf("index %+v = %v, %v; want %d members", ix, ids(got), err, want)
		}
	}
	if _, ok := raw.HGetAll(ctx, key).Val()["ix_labels"]; ok {
		t.Error("the earlier format's empty ix_labels kept by the next commit")
	}
}
