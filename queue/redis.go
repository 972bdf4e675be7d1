package queue

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Options say which Redis to use: at most one of URL, Cluster and
// SentinelMaster; none starts an embedded, in-memory Redis (development
// only: nothing survives a restart).
type Options struct {
	// URL is a redis:// or rediss:// URL of one server.
	URL string
	// Cluster lists host:port seed nodes of a Redis Cluster.
	Cluster []string
	// SentinelMaster and SentinelAddrs locate a master through Sentinels.
	SentinelMaster string
	SentinelAddrs  []string
	// SentinelUsername and SentinelPassword authenticate to the Sentinels
	// themselves (Username and Password are the master's and replicas').
	SentinelUsername, SentinelPassword string
	// Username, Password and TLS are the cluster's or Sentinel set's
	// credentials (a URL carries its own).
	Username, Password string
	TLS                bool
	// Prefix starts every key and names the task queues; default "gw:".
	Prefix string
	// WaitReplicas, when above 0, makes AcceptAndTake, a worker's Commit, Take's
	// lock and Sent wait until their writes reached that many replicas
	// (WAIT), for at most WaitTimeout (default 1s); when they do not
	// acknowledge in time the call returns an error that wraps
	// ErrNotReplicated and ErrUnavailable (Take goes on with its lock).
	WaitReplicas int
	WaitTimeout  time.Duration
	// ObserveWait, when set, receives how long each WAIT took.
	ObserveWait func(time.Duration)
	// Now is the clock of the embedded Redis' TTLs and of the logs' rate
	// limit; default time.Now. Tests that move the gateway's clock pass the
	// same function.
	Now func() time.Time
	// Logger receives go-redis' lines (failures to connect, mostly), each
	// distinct line at most once per 10 s with the number of copies dropped
	// ("suppressed"); default slog.Default(). go-redis has one logger per
	// process: the last Open sets it.
	Logger *slog.Logger
}

// Redis is the gateway's connection to Redis: the store, the waiting lines
// and the asynq client all use it.
type Redis struct {
	rdb redis.UniversalClient
	// batch sends the hot path's commands of many callers together.
	batch *batcher
	// client makes a client of the same Redis with a pool of its own of
	// at most the given size (Side).
	client   func(poolSize int) redis.UniversalClient
	embedded *miniredis.Miniredis
	keys     keys
	now      func() time.Time
	wait     replicaWait
}

// Open connects to Redis, or starts the embedded one, and checks that it
// answers. Errors name the setting (redis.url, redis.cluster,
// redis.sentinel) that is wrong.
func Open(ctx context.Context, o Options) (*Redis, error) {
	r := &Redis{keys: keys{prefix: o.Prefix}, now: o.Now,
		wait: replicaWait{replicas: o.WaitReplicas, timeout: o.WaitTimeout, observe: o.ObserveWait}}
	if r.keys.prefix == "" {
		r.keys.prefix = defaultPrefix
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.wait.timeout <= 0 {
		r.wait.timeout = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	redis.SetLogger(redisLog{newLimitedLog(o.Logger, "go-redis", r.now)})
	// A WAIT blocks its connection for up to its timeout: reads must
	// outlast it.
	readTimeout := max(3*time.Second, r.wait.timeout+time.Second)
	var tlsConfig *tls.Config
	if o.TLS {
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	var setting, where string
	switch {
	case len(o.Cluster) > 0:
		setting, where = "redis.cluster", strings.Join(o.Cluster, ",")
		r.client = func(pool int) redis.UniversalClient {
			return redis.NewClusterClient(&redis.ClusterOptions{
				Addrs: o.Cluster, Username: o.Username, Password: o.Password, TLSConfig: tlsConfig,
				PoolSize: pool, Protocol: 2, ReadTimeout: readTimeout,
			})
		}
	case o.SentinelMaster != "":
		setting, where = "redis.sentinel", o.SentinelMaster+"@"+strings.Join(o.SentinelAddrs, ",")
		r.client = func(pool int) redis.UniversalClient {
			return redis.NewFailoverClient(&redis.FailoverOptions{
				MasterName: o.SentinelMaster, SentinelAddrs: o.SentinelAddrs,
				SentinelUsername: o.SentinelUsername, SentinelPassword: o.SentinelPassword,
				Username: o.Username, Password: o.Password, TLSConfig: tlsConfig,
				PoolSize: pool, Protocol: 2, ReadTimeout: readTimeout,
				// Each command asks the Sentinels in turn when the master is
				// unknown: with go-redis' five dial attempts each, a webhook
				// would wait longer than Meta does for a 503 while Redis is down.
				DialerRetries: 1, DialTimeout: time.Second,
			})
		}
	default:
		setting = "redis.url"
		var opt *redis.Options
		if o.URL == "" {
			m := miniredis.NewMiniRedis()
			m.ClockTTL(true)
			if o.Now != nil {
				m.SetTime(o.Now())
			}
			if err := m.StartAddr("127.0.0.1:0"); err != nil {
				return nil, fmt.Errorf("redis.url is empty and the embedded Redis did not start: %w", err)
			}
			r.embedded = m
			opt = &redis.Options{Addr: m.Addr()}
		} else {
			u, err := url.Parse(o.URL)
			if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
				return nil, fmt.Errorf("redis.url: %q is not a redis:// or rediss:// URL", redactURL(o.URL))
			}
			if opt, err = redis.ParseURL(o.URL); err != nil {
				return nil, fmt.Errorf("redis.url: %v", err)
			}
		}
		where = opt.Addr
		// RESP2: the gateway uses no push notifications, and RESP3 clients
		// check for them on every read.
		opt.Protocol = 2
		opt.ReadTimeout = readTimeout
		r.client = func(pool int) redis.UniversalClient {
			o := *opt
			o.PoolSize = pool
			return redis.NewClient(&o)
		}
	}
	r.rdb = r.client(64)
	r.batch = newBatcher(r.rdb, pipelinesInFlight)
	pingCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := r.rdb.Ping(pingCtx).Err(); err != nil {
		r.Close()
		return nil, fmt.Errorf("%s: cannot reach %s: %w", setting, where, err)
	}
	return r, nil
}

// Embedded reports whether this is the in-memory Redis.
func (r *Redis) Embedded() bool { return r.embedded != nil }

// SetTime moves the embedded Redis' clock (TTLs); a no-op on a real server.
func (r *Redis) SetTime(t time.Time) {
	if r.embedded != nil {
		r.embedded.SetTime(t)
	}
}

// Ping checks that Redis answers.
func (r *Redis) Ping(ctx context.Context) error {
	if err := r.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}

// Close closes the connection pool and stops the embedded Redis.
func (r *Redis) Close() error {
	err := r.rdb.Close()
	if r.embedded != nil {
		r.embedded.Close()
	}
	return err
}

// redactURL hides the password of a Redis URL.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		if i := strings.LastIndex(s, "@"); i >= 0 {
			return "***" + s[i:]
		}
		return s
	}
	return u.Redacted()
}

// keys builds every key name. A channel's keys share the hash tag
// {channel}, so one script can touch its conversations, line and streams.
type keys struct{ prefix string }

// defaultPrefix starts every key when Options.Prefix is empty.
const defaultPrefix = "gw:"

func (k keys) tag(channel string) string { return k.prefix + "{" + channel + "}:" }

func (k keys) conv(ch, id string) string       { return k.tag(ch) + "conv:" + id }
func (k keys) transcript(ch, id string) string { return k.tag(ch) + "tx:" + id }
func (k keys) inbox(ch, id string) string      { return k.tag(ch) + "inbox:" + id }
func (k keys) inboxData(ch, id string) string  { return k.tag(ch) + "inboxdata:" + id }
func (k keys) inboxSeq(ch string) string       { return k.tag(ch) + "seq" }
func (k keys) lock(ch, id string) string       { return k.tag(ch) + "lock:" + id }
func (k keys) seen(ch, eventID string) string  { return k.tag(ch) + "seen:" + shortHash(eventID) }

// legacyMessageID named the key that mapped a sent message's platform id
// to "<conversation> <entry>", for 8 days, before the conversation's own
// hash held the mapping (sentField). Statuses and echoes of messages sent
// before that still find their entry through it, and erasure deletes it.
func (k keys) legacyMessageID(ch, mid string) string { return k.tag(ch) + "mid:" + mid }

// A conversation is two keys: its state (the routing state as JSON, a
// string) and a hash with its version ("v"), the delivery status and the
// platform ids of each sent entry, the stream ids of its ended sessions
// (for erasure), and the last worker commit applied (so that a retried
// commit is recognised, see Store.Commit). The hash's values are short, so Redis keeps it in its
// compact encoding; the state, hundreds of bytes, would not fit in it.
func (k keys) state(ch, id string) string { return k.tag(ch) + "state:" + id }

const sessionsField = "s"

func deliveryField(entryID string) string { return deliveryFieldPrefix + entryID }

const deliveryFieldPrefix = "d:"

// sentField maps a platform id of a sent message to its entry: status
// webhooks and echoes come with the platform id, and are handled in the
// user's conversation, whose hash this is. Erasure reads the platform ids
// from these fields' names.
func sentField(platformID string) string { return sentFieldPrefix + platformID }

const sentFieldPrefix = "p:"

// legacySentFieldPrefix named fields "m:<entry>" listing an entry's
// platform ids, written with legacyMessageID keys; erasure still reads them.
const legacySentFieldPrefix = "m:"

// shortHash names a dedupe marker: event ids are long (a wamid is ~60
// characters) and some name the user (a Messenger read is
// "read:<PSID>:<watermark>"); 96 bits of SHA-256 keep markers short and
// free of personal data, with collisions out of reach.
func shortHash(id string) string {
	sum := sha256.Sum256([]byte(id))
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

// daily counts a channel's transfers, declines, expiries... of one day
// (YYYY-MM-DD in the channel's zone); waits holds that day's wait times.
func (k keys) daily(ch, day string) string { return k.tag(ch) + "daily:" + day }
func (k keys) waits(ch, day string) string { return k.tag(ch) + "waits:" + day }

func (k keys) line(ch string) string     { return k.tag(ch) + "line" }
func (k keys) claiming(ch string) string { return k.tag(ch) + "claiming" }

// deadlines is the inactivity deadlines set earlier releases kept; the
// sweep now reads the state indexes, and commits and erasures empty it.
func (k keys) deadlines(ch string) string   { return k.tag(ch) + "deadlines" }
func (k keys) assigned(ch string) string    { return k.tag(ch) + "assigned" }
func (k keys) held(ch string) string        { return k.tag(ch) + "held" }
func (k keys) outbox(ch string) string      { return k.tag(ch) + "outbox" }
func (k keys) sessions(ch string) string    { return k.tag(ch) + "sessions" }
func (k keys) events(ch string) string      { return k.tag(ch) + "events" }
func (k keys) pending(ch string) string     { return k.tag(ch) + "pending" }
func (k keys) opened(ch string) string      { return k.tag(ch) + "opened" }
func (k keys) lineNotices() string          { return k.prefix + "line-joined" }
func (k keys) presence(agent string) string { return k.prefix + "agent:" + agent + ":presence" }
