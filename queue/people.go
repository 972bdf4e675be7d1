package queue

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Console sign-in sessions and the counters that rate-limit sign-in and
// failed authentication. A session is one key named by the SHA-256 of its
// token, so the token itself is never stored; each key is touched alone
// (no hash tag needed).

// WebSession is a signed-in console session.
type WebSession struct {
	Agent string `json:"agent"`
	// CSRF is the token a state-changing request must carry in
	// X-CSRF-Token.
	CSRF string `json:"csrf"`
	// Fingerprint is a digest of what the agent's configuration was at
	// sign-in: a session of an agent changed or removed since is refused.
	Fingerprint string `json:"fp"`
	// Expires is when the session ends unless used again (a sliding
	// expiry, by the gateway's clock; Redis expires the key a little later).
	Expires time.Time `json:"exp"`
}

func (k keys) webSession(token string) string {
	sum := sha256.Sum256([]byte(token))
	return k.prefix + "websession:" + hex.EncodeToString(sum[:])
}

func (k keys) rate(name string, window int64) string {
	return k.prefix + "rate:" + shortHash(name) + ":" + strconv.FormatInt(window, 10)
}

// sessionKeyGrace is how long Redis keeps a session key past its expiry,
// so that a slow clock never ends a session early.
const sessionKeyGrace = time.Minute

// SaveWebSession stores (or extends) the session of token until ws.Expires.
func (s *Store) SaveWebSession(ctx context.Context, token string, ws WebSession, now time.Time) error {
	data, err := json.Marshal(ws)
	if err != nil {
		return err
	}
	return unavailable(s.rdb.Set(ctx, s.keys.webSession(token), data, ws.Expires.Sub(now)+sessionKeyGrace).Err())
}

// WebSession returns the session of token; false when there is none.
func (s *Store) WebSession(ctx context.Context, token string) (WebSession, bool, error) {
	var ws WebSession
	data, err := s.rdb.Get(ctx, s.keys.webSession(token)).Bytes()
	if errors.Is(err, redis.Nil) {
		return ws, false, nil
	}
	if err != nil {
		return ws, false, unavailable(err)
	}
	if err := json.Unmarshal(data, &ws); err != nil {
		return ws, false, nil // unreadable: as good as none
	}
	return ws, true, nil
}

// DeleteWebSession ends the session of token at once.
func (s *Store) DeleteWebSession(ctx context.Context, token string) error {
	return unavailable(s.rdb.Del(ctx, s.keys.webSession(token)).Err())
}

// Hit counts one event under name in the fixed window of length window
// that holds now, and returns the count so far in that window and how long
// until it ends. Windows are numbered by the caller's clock.
func (s *Store) Hit(ctx context.Context, name string, window time.Duration, now time.Time) (int64, time.Duration, error) {
	n := now.UnixMilli() / window.Milliseconds()
	key := s.keys.rate(name, n)
	pipe := s.rdb.TxPipeline()
	incr := pipe.Incr(ctx, key)
	pipe.PExpire(ctx, key, 2*window)
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, 0, unavailable(err)
	}
	end := time.UnixMilli((n + 1) * window.Milliseconds())
	return incr.Val(), end.Sub(now), nil
}
