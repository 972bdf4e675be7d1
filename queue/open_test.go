package queue_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"switchboard/channels"
	"switchboard/queue"
	"switchboard/queue/redistest"
)

func TestOpenRejectsBadURLsWithoutTheirPassword(t *testing.T) {
	cases := []struct {
		url, want string
	}{
		{"http://user:s3cret@example.com:6379", `redis.url: "http://user:xxxxx@example.com:6379" is not a redis:// or rediss:// URL`},
		{"s3cret@localhost", `redis.url: "***@localhost" is not a redis:// or rediss:// URL`},
		{"localhost:6379", `redis.url: "localhost:6379" is not a redis:// or rediss:// URL`},
		{"redis://localhost:6379/notanumber", "redis.url: "},
	}
	for _, c := range cases {
		_, err := queue.Open(context.Background(), queue.Options{URL: c.url})
		if err == nil || !strings.HasPrefix(err.Error(), c.want) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open(%q) = %v, want an error starting %q without the password", c.url, err, c.want)
		}
	}
}

func TestOpenFailsWhenRedisDoesNotAnswer(t *testing.T) {
	srv, _ := openRedis(t)
	srv.Stop()
	_, err := queue.Open(context.Background(), optionsFor(srv, queue.Options{}))
	want := "redis.url: cannot reach " + srv.Addr
	switch srv.Kind {
	case "cluster":
		want = "redis.cluster: cannot reach " + strings.Join(srv.Cluster, ",")
	case "sentinel":
		want = "redis.sentinel: cannot reach " + redistest.SentinelMaster + "@" + strings.Join(srv.SentinelAddrs, ",")
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Open of a stopped Redis = %v, want an error containing %q", err, want)
	}
}

// An empty URL starts an embedded Redis whose TTLs follow the given clock.
func TestOpenEmbedded(t *testing.T) {
	clk := &clock{t: t0}
	r, err := queue.Open(context.Background(), queue.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !r.Embedded() {
		t.Fatal("an empty URL did not start the embedded Redis")
	}
	st := r.Store()
	ctx := context.Background()
	ev := &channels.Event{ID: "wamid.1", Channel: "wa", User: channels.User{ID: "u1"}, Kind: channels.KindText, Timestamp: t0}
	conv := queue.ConversationID("wa", "u1")
	if res, err := st.Accept(ctx, ev, conv, time.Hour, t0); err != nil || res != queue.AcceptedNew {
		t.Fatalf("accept = %v, %v", res, err)
	}
	if err := st.Ack(ctx, conv, ev.ID); err != nil {
		t.Fatal(err)
	}
	r.SetTime(t0.Add(59 * time.Minute))
	if res, _ := st.Accept(ctx, ev, conv, time.Hour, t0); res != queue.AcceptedDuplicate {
		t.Fatalf("redelivery within the dedupe TTL = %v, want a duplicate", res)
	}
	r.SetTime(t0.Add(61 * time.Minute))
	if res, _ := st.Accept(ctx, ev, conv, time.Hour, t0); res != queue.AcceptedNew {
		t.Fatalf("redelivery after the dedupe TTL = %v, want new", res)
	}
	if err := r.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestNewEntryIDsAreUnique(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := queue.NewEntryID()
		if !strings.HasPrefix(id, queue.EntryIDPrefix) || len(id) != len(queue.EntryIDPrefix)+16 || seen[id] {
			t.Fatalf("entry id %q: want %s and 16 characters, never repeated", id, queue.EntryIDPrefix)
		}
		seen[id] = true
	}
}

// The Sentinels' own credentials (an ACL user of theirs here) are sent to
// them: the right ones open, a wrong password does not, and the error
// does not show it. It needs a Sentinel set whatever the test Redis is.
func TestOpenAuthenticatesToTheSentinels(t *testing.T) {
	srv := redistest.StartKind(t, "sentinel")
	ctx := context.Background()
	for _, addr := range srv.SentinelAddrs {
		c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2})
		if err := c.Do(ctx, "ACL", "SETUSER", "watcher", "on", ">sentinel-secret-0123", "+@all", "~*", "&*").Err(); err != nil {
			c.Close()
			t.Fatalf("ACL SETUSER on Sentinel %s: %v", addr, err)
		}
		t.Cleanup(func() { c.Do(ctx, "ACL", "DELUSER", "watcher"); c.Close() })
	}
	open := func(password string) error {
		r, err := queue.Open(ctx, optionsFor(srv, queue.Options{SentinelUsername: "watcher", SentinelPassword: password}))
		if err == nil {
			r.Close()
		}
		return err
	}
	if err := open("sentinel-secret-0123"); err != nil {
		t.Fatalf("Open with the Sentinels' credentials = %v", err)
	}
	err := open("wrong-secret-4567")
	if err == nil || !strings.HasPrefix(err.Error(), "redis.sentinel: cannot reach") || strings.Contains(err.Error(), "wrong-secret") {
		t.Fatalf("Open with a wrong Sentinel password = %v, want redis.sentinel: cannot reach ..., without the password", err)
	}
}
