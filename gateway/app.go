package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/robfig/cron/v3"

	"switchboard/bots"
	"switchboard/config"
	"switchboard/gateway/engine"
	"switchboard/gateway/httpapi"
	"switchboard/gateway/notify"
	"switchboard/queue"
)

// Options are what the process gives the application besides its config.
type Options struct {
	// Now is the clock; default time.Now in UTC, to the millisecond. Tests
	// pass their own.
	Now    func() time.Time
	Logger *slog.Logger
	// Ops are the options of reload and notifications (reload.go).
	Ops OpsOptions
	// Bot, when set, answers instead of the configured bot (a bot built
	// into the program that embeds the gateway).
	Bot bots.Bot
	// Limits bound connections, bodies and event streams; zero fields
	// take their defaults (httpapi.Limits).
	Limits httpapi.Limits
	// LockTTL is how long a dead worker can keep a conversation's events
	// waiting (a live one renews its lock); 0: 2 minutes.
	LockTTL time.Duration
	// MediaRootCAs, when set, are the only certificate authorities trusted
	// when fetching Messenger and Instagram attachments from the platform's
	// CDN for agents (tests' own CDN).
	MediaRootCAs *x509.CertPool
}

// App is the running gateway: HTTP server, engine, task workers and the
// sweep schedule. Build it with New, then Start; Shutdown stops it.
type App struct {
	cfg    *config.Config
	log    *slog.Logger
	now    func() time.Time
	redis  *queue.Redis
	store  *queue.Store
	tasks  *queue.Tasks
	engine *engine.Engine
	server *httpapi.Server
	http   *http.Server
	cron   *cron.Cron
	// limits bound what clients hold (httpapi.Limits); probe is readiness'
	// own connection.
	limits httpapi.Limits
	probe  *queue.Redis

	listener    net.Listener
	pprof       *http.Server // debug.pprof, nil when off
	stopNotices context.CancelFunc
	lastTick    time.Time
	ops         *ops // reload (reload.go)
}

// New connects to Redis (or starts the embedded one) and builds the
// application. Errors name the configuration setting at fault.
func New(ctx context.Context, cfg *config.Config, opts Options) (*App, error) {
	limits, err := opts.Limits.WithDefaults()
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: opts.Logger, now: opts.Now, limits: limits}
	if a.log == nil {
		a.log = slog.Default()
	}
	a.log = engine.WithContextAttrs(a.log)
	if a.now == nil {
		// Milliseconds in UTC: what is stored and shown needs no more, and
		// every stored timestamp is shorter for it.
		a.now = func() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }
	}
	rc := cfg.Redis
	// How long webhooks wait for their inbox write to reach replicas
	// (redis.wait_replicas).
	replicaWait := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "switchboard_redis_wait_seconds",
		Help:    "Time a write waited for redis.wait_replicas replicas (WAIT): a webhook's inbox write, a worker's lock and commit, a send's record.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}})
	r, err := queue.Open(ctx, queue.Options{ObserveWait: func(d time.Duration) { replicaWait.Observe(d.Seconds()) }, URL: rc.URL.Reveal(), Cluster: rc.Cluster,
		SentinelMaster: rc.Sentinel.Master, SentinelAddrs: rc.Sentinel.Addrs,
		SentinelUsername: rc.Sentinel.Username, SentinelPassword: rc.Sentinel.Password.Reveal(),
		Username: rc.Username, Password: rc.Password.Reveal(), TLS: rc.TLS,
		WaitReplicas: rc.WaitReplicas, WaitTimeout: rc.WaitTimeout, Prefix: rc.Prefix, Now: a.now, Logger: a.log})
	if err != nil {
		return nil, err
	}
	if r.Embedded() {
		a.log.Warn("redis.url is empty: using an embedded in-memory Redis; nothing survives a restart")
	}
	a.redis, a.store = r, r.Store()
	a.tasks = r.Tasks(queue.TaskConfig{Concurrency: cfg.Engine.Workers, ShutdownTimeout: cfg.ShutdownTimeout, RetryBase: cfg.Engine.RetryBase, MaxSendAttempts: cfg.Engine.SendAttempts, Logger: a.log})
	// One registry per App, so two gateways in one test process do not collide.
	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), replicaWait)
	a.engine, err = engine.New(cfg, engine.Options{
		Inbox: a.store, Conversations: a.store, Line: a.store, Outbox: a.store, Presence: a.store,
		Events: a.store, Stats: a.store, Calls: a.store, Tasks: a.tasks, DeadLetters: a.store, EraseTasks: r.EraseTasks, Inboxes: a.store,
		Bot: opts.Bot, LockTTL: opts.LockTTL, Persist: persistFor(rc), Notifier: notify.New(notify.Options{SMTPRootCAs: opts.Ops.SMTPRootCAs, WebhookClient: opts.Ops.WebhookClient}),
		Now: a.now, Log: a.log, Registry: registry, FollowUps: a.store, Sessions: a.store,
		MediaRootCAs: opts.MediaRootCAs,
	})
	if err != nil {
		r.Close()
		return nil, err
	}
	a.ops = newOps(opts.Ops, cfg, registry)
	// Event streams read Redis on connections of their own, and readiness
	// on one more, so neither competes with webhooks for the shared pool.
	a.probe = r.Side(1)
	a.server = httpapi.New(httpapi.Options{Engine: a.engine, Registry: registry, Ready: r.Ping, Probe: a.probe.Ping,
		Limits: a.limits, Streams: newStreamReader(r.Side(httpapi.HubConns), a.store),
		Reload: func(ctx context.Context) (any, error) { return a.Reload(ctx) }, Now: a.now, Log: a.log})
	return a, nil
}

// Start listens on cfg.Listen and starts the workers, the line-notice
// subscription and the sweep. It returns once the server accepts
// connections; errors name the setting at fault.
func (a *App) Start(ctx context.Context) error {
	l, err := net.Listen("tcp", a.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if c := a.cfg.TLS; c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			l.Close()
			return fmt.Errorf("tls: %w", err)
		}
		l = tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	a.listener = l
	if err := a.tasks.Start(a.engine.Handlers()); err != nil {
		l.Close()
		return fmt.Errorf("task workers: %w", err)
	}
	noticeCtx, cancel := context.WithCancel(context.Background())
	a.stopNotices = cancel
	a.engine.Start(a.cfg.Engine.Workers, a.redis.LineNotices(noticeCtx))

	a.lastTick = a.now()
	// Ticks never overlap: one that outlasts the interval (Redis slow or
	// down) makes the next one skip, and lastTick has a single writer.
	a.cron = cron.New(cron.WithChain(cron.SkipIfStillRunning(cron.DiscardLogger)))
	if _, err := a.cron.AddFunc(fmt.Sprintf("@every %s", a.cfg.Engine.SweepInterval), a.tick); err != nil {
		return fmt.Errorf("engine.sweep_interval: %w", err)
	}
	a.cron.Start()

	if err := a.startPprof(); err != nil {
		return err
	}
	signIns := a.cfg.DevelopmentSignIns()
	a.http = &http.Server{Handler: a.server, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: a.limits.IdleTimeout}
	a.http.RegisterOnShutdown(a.server.EndStreams) // streams end, so shutdown need not wait for them
	go func() {
		if err := a.http.Serve(a.limits.Listen(l)); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("http server stopped", "err", err)
		}
	}()
	a.log.Info("gateway started", "listen", l.Addr().String(), "channels", len(a.cfg.Channels), "agents", len(a.cfg.Agents))
	a.log.Info("agents' console", "url", a.ConsoleURL())
	for _, s := range signIns {
		// Published development values, refused with a real Redis: a
		// newcomer signs in with them a minute after the first command.
		a.log.Info("development sign-in", "agent", s.Agent, "password", s.Password)
	}
	return nil
}

// ConsoleURL is the agents' console's address on this machine.
func (a *App) ConsoleURL() string {
	scheme := "http"
	if a.cfg.TLS.CertFile != "" {
		scheme = "https"
	}
	host, port, err := net.SplitHostPort(a.Addr())
	if err != nil {
		return scheme + "://" + a.Addr() + "/console/"
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost" // listening on every address
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/console/"
}

// Addr is the address the server listens on (useful with listen ":0").
func (a *App) Addr() string { return a.listener.Addr().String() }

// tick runs the engine's sweep with the application clock.
func (a *App) tick() {
	now := a.now()
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.Engine.SweepInterval)
	defer cancel()
	if err := a.engine.Tick(ctx, a.lastTick, now); err != nil {
		a.log.Warn("sweep incomplete; the next one continues", "err", err)
	}
	a.lastTick = now
}

// Shutdown stops the gateway in a fixed order: stop accepting HTTP and
// finish in-flight requests (bounded by shutdown_timeout), finish the
// conversations being processed and hand the buffered ones to the task
// queue, stop the sweep and the line-notice subscription, stop the task
// workers (running tasks finish or go back to the queue), then close Redis.
func (a *App) Shutdown(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.ShutdownTimeout)
	defer cancel()
	var errs []error
	if a.http != nil {
		errs = append(errs, a.http.Shutdown(ctx))
	}
	if a.pprof != nil {
		errs = append(errs, a.pprof.Close())
	}
	a.engine.Stop()
	if a.cron != nil {
		<-a.cron.Stop().Done()
	}
	if a.stopNotices != nil {
		a.stopNotices()
	}
	a.tasks.Shutdown()
	errs = append(errs, a.server.Close(), a.probe.Close(), a.redis.Close())
	return errors.Join(errs...)
}

// streamReader reads event streams (httpapi.StreamReader): the hub's
// blocking reads on a Redis of its own, which Close closes, and the
// catch-up reads, which return at once, on the shared pool, so that a
// burst of streams opening together borrows the shared pool's connections
// instead of opening one of the hub's each.
type streamReader struct {
	blocking, shared *queue.Store
	redis            *queue.Redis
}

func newStreamReader(r *queue.Redis, shared *queue.Store) streamReader {
	return streamReader{blocking: r.Store(), shared: shared, redis: r}
}

func (s streamReader) ReadStream(ctx context.Context, channel, after string, block time.Duration, count int64) ([]queue.Notice, error) {
	if block < 0 {
		return s.shared.ReadStream(ctx, channel, after, block, count)
	}
	return s.blocking.ReadStream(ctx, channel, after, block, count)
}

func (s streamReader) Close() error { return s.redis.Close() }

// persistFor is how long a worker tries again, through a failover, the
// commit of its decision and the record of a sent message
// (engine.Options.Persist): with redis.wait_replicas, longer than a
// failover (Sentinel's down-after-milliseconds, 30s by default, and the
// election), shorter than a conversation's processing lock (2m); without
// it, a failover can lose those writes anyway, and a worker does not wait.
func persistFor(rc config.Redis) time.Duration {
	if rc.WaitReplicas > 0 {
		return time.Minute
	}
	return 0
}
