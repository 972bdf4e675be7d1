package queue_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"switchboard/queue"
	"switchboard/queue/redistest"
)

func TestWebSessions(t *testing.T) {
	srv, r := openRedis(t)
	st := r.Store()
	ctx := context.Background()
	ws := queue.WebSession{Agent: "ana", CSRF: "csrf", Fingerprint: "fp", Expires: t0.Add(time.Hour)}
	if err := st.SaveWebSession(ctx, "token-1", ws, t0); err != nil {
		t.Fatal(err)
	}
	got, ok, err := st.WebSession(ctx, "token-1")
	if err != nil || !ok {
		t.Fatalf("Session = %v, %v", ok, err)
	}
	if diff := cmp.Diff(ws, got); diff != "" {
		t.Errorf("session (-want +got):\n%s", diff)
	}
	// Only a hash of the token names the key.
	keys := redistest.Keys(t, srv.Client(), "*")
	if len(keys) != 1 {
		t.Fatalf("keys %q; want the session's", keys)
	}
	for _, k := range keys {
		if strings.Contains(k, "token-1") {
			t.Errorf("key %q holds the token", k)
		}
	}
	if _, ok, _ := st.WebSession(ctx, "token-2"); ok {
		t.Error("an unknown token has a session")
	}
	if err := st.DeleteWebSession(ctx, "token-1"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := st.WebSession(ctx, "token-1"); ok {
		t.Error("the session outlived DeleteWebSession")
	}
}

func TestHit(t *testing.T) {
	_, st := openStore(t)
	ctx := context.Background()
	at := t0.Add(45 * time.Second) // 15 s before the minute's end
	for want := int64(1); want <= 3; want++ {
		n, retry, err := st.Hit(ctx, "signin:ana", time.Minute, at)
		if err != nil || n != want || retry != 15*time.Second {
			t.Fatalf("Hit #%d = %d, %s, %v; want %d, 15s", want, n, retry, err, want)
		}
	}
	if n, _, _ := st.Hit(ctx, "signin:bruno", time.Minute, at); n != 1 {
		t.Errorf("another name's count = %d, want 1", n)
	}
	if n, retry, _ := st.Hit(ctx, "signin:ana", time.Minute, t0.Add(time.Minute)); n != 1 || retry != time.Minute {
		t.Errorf("next window: %d, %s; want 1, 1m", n, retry)
	}
}
