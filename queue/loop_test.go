package queue_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"switchboard/channels"
	"switchboard/queue"
	"switchboard/routing"
)

func TestRecordCSATOnTheAgentSessionAndErasure(t *testing.T) {
	_, st := openStore(t)
	ctx := context.Background()
	conv := queue.ConversationID("wa", "u-csat")
	rec, err := st.Load(ctx, conv)
	if err != nil {
		t.Fatal(err)
	}
	rec.State, rec.User = routing.StateEnded, channels.User{ID: "u-csat"}
	agent := queue.SessionRecord{ID: conv + "-2", User: "u-csat", Kind: routing.SessionAgent, Agent: "ana", Start: t0, End: t0.Add(time.Minute),
		FirstReply: t0.Add(10 * time.Second), Resolution: routing.ResolutionClosed}
	err = st.Commit(ctx, &queue.Commit{Record: rec, Sessions: []queue.SessionRecord{
		{ID: conv + "-1", User: "u-csat", Kind: routing.SessionBot, Start: t0, End: t0, Resolution: routing.ResolutionTransferred}, agent}})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := st.RecordCSAT(ctx, "wa", conv, conv+"-2", 4); err != nil || !ok {
		t.Fatalf("RecordCSAT = %v, %v", ok, err)
	}
	if ok, err := st.RecordCSAT(ctx, "wa", conv, conv+"-9", 4); err != nil || ok {
		t.Errorf("RecordCSAT of an unknown session = %v, %v; want false", ok, err)
	}
	list, _, err := st.Sessions(ctx, "wa", time.UnixMilli(0), time.Time{}, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].CSAT != 0 || list[1].ID != agent.ID || list[1].CSAT != 4 || !list[1].FirstReply.Equal(agent.FirstReply) || list[1].Agent != "ana" {
		t.Fatalf("sessions = %+v, want the bot session, then the agent session with csat 4", list)
	}
	// The rewritten record is still the conversation's: erasure removes it.
	_, erased, err := st.Erase(ctx, "wa", "u-csat")
	if err != nil {
		t.Fatal(err)
	}
	list, _, _ = st.Sessions(ctx, "wa", time.UnixMilli(0), time.Time{}, "", 10)
	if erased.Sessions != 2 || len(list) != 0 {
		t.Errorf("erased %d sessions, %d left; want 2 and none", erased.Sessions, len(list))
	}
}

// A session recorded the earlier way (SessionRecord's own JSON) reads the
// same, and a satisfaction answer is recorded on it.
func TestRecordCSATOnAnEarlierSessionRecord(t *testing.T) {
	srv, r := openRedis(t)
	st := r.Store()
	ctx := context.Background()
	raw := srv.Client()
	conv := queue.ConversationID("wa", "u-old")
	earlier := `{"id":"` + conv + `-1","user":"u-old","kind":"agent","agent":"ana","start":"2026-03-02T10:00:00Z",` +
		`"end":"2026-03-02T10:05:00Z","resolution":"closed","first_reply":"2026-03-02T10:00:30Z"}`
	sid, err := raw.XAdd(ctx, &redis.XAddArgs{Stream: "t:{wa}:sessions", Values: []any{"data", earlier}}).Result()
	if err != nil {
		t.Fatal(err)
	}
	raw.HSet(ctx, "t:{wa}:conv:"+conv, "s", sid)
	if ok, err := st.RecordCSAT(ctx, "wa", conv, conv+"-1", 3); err != nil || !ok {
		t.Fatalf("RecordCSAT = %v, %v", ok, err)
	}
	list, _, err := st.Sessions(ctx, "wa", time.UnixMilli(0), time.Time{}, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	want := queue.SessionRecord{ID: conv + "-1", Conversation: conv, Channel: "wa", User: "u-old", Kind: routing.SessionAgent,
		Agent: "ana", Start: at, End: at.Add(5 * time.Minute), Resolution: routing.ResolutionClosed,
		FirstReply: at.Add(30 * time.Second), CSAT: 3}
	if len(list) != 1 || !cmp.Equal(list[0], want) {
		t.Errorf("sessions = %+v; want %+v", list, want)
	}
}
