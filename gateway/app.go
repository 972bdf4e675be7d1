package gateway

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/robfig/cron/v3"

	"switchboard/bots"
	"switchboard/channels"
	"switchboard/config"
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
}

// App is the running gateway: HTTP server, engine, task workers and the
// sweep schedule. Build it with New, then Start; Shutdown stops it.
type App struct {
	cfg     *config.Config
	log     *slog.Logger
	now     func() time.Time
	redis   *queue.Redis
	tasks   *queue.Tasks
	engine  *Engine
	metrics *metrics
	echo    *echo.Echo
	http    *http.Server
	cron    *cron.Cron
	waiters *waiters

	listener    net.Listener
	pprof       *http.Server // debug.pprof, nil when off
	unknownSeen sync.Map     // platform/account pairs already logged
	stopNotices context.CancelFunc
	lastTick    time.Time
	ops         *ops // reload (reload.go)
}

// New connects to Redis (or starts the embedded one) and builds the
// application. Errors name the configuration setting at fault.
func New(ctx context.Context, cfg *config.Config, opts Options) (*App, error) {
	a := &App{cfg: cfg, log: opts.Logger, now: opts.Now, metrics: newMetrics()}
	if a.log == nil {
		a.log = slog.Default()
	}
	a.log = withContextAttrs(a.log)
	if a.now == nil {
		// Milliseconds in UTC: what is stored and shown needs no more, and
		// every stored timestamp is shorter for it.
		a.now = func() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }
	}
	rc := cfg.Redis
	r, err := queue.Open(ctx, queue.Options{URL: rc.URL.Reveal(), Cluster: rc.Cluster,
		SentinelMaster: rc.Sentinel.Master, SentinelAddrs: rc.Sentinel.Addrs,
		Username: rc.Username, Password: rc.Password.Reveal(), TLS: rc.TLS,
		WaitReplicas: rc.WaitReplicas, WaitTimeout: rc.WaitTimeout, Prefix: rc.Prefix, Now: a.now})
	if err != nil {
		return nil, err
	}
	if r.Embedded() {
		a.log.Warn("redis.url is empty: using an embedded in-memory Redis; nothing survives a restart")
	}
	a.redis = r
	a.tasks = r.Tasks(queue.TaskConfig{Concurrency: cfg.Engine.Workers, ShutdownTimeout: cfg.ShutdownTimeout, RetryBase: cfg.Engine.RetryBase, MaxSendAttempts: cfg.Engine.SendAttempts, Logger: a.log})
	bot, err := newBot(cfg, a.now)
	if err != nil {
		r.Close()
		return nil, err
	}
	a.engine = &Engine{store: r.Store(), tasks: a.tasks, bot: bot, now: a.now, log: a.log, metrics: a.metrics}
	s, err := newSetup(cfg)
	if err != nil {
		r.Close()
		return nil, err
	}
	s.bot = bot
	a.engine.setup.Store(s)
	a.engine.notifier = newNotifier(opts.Ops, a.log)
	a.ops = newOps(opts.Ops, cfg)
	a.metrics.registry.MustRegister(newLineCollector(a.engine))
	a.waiters = newWaiters()
	a.echo = a.newServer()
	return a, nil
}

// newSetup builds the runtime form of the configuration.
func newSetup(cfg *config.Config) (*setup, error) {
	client := &http.Client{Timeout: cfg.Meta.SendTimeout}
	s := &setup{
		channels:  map[string]*channel{},
		byAccount: map[channels.Platform]map[string]*channel{},
		agents:    map[string]*agent{},
		secrets:   map[channels.Platform][]string{},
		fallback:  cfg.Bot.Fallback,
		dedupeTTL: cfg.Engine.DedupeTTL,
		cfg:       cfg,
		botName:   botName(cfg.Bot),
	}
	for i := range cfg.Channels {
		ch, err := newChannel(cfg, &cfg.Channels[i], client, cfg.Bot.HandoffKeywords)
		if err != nil {
			return nil, err
		}
		s.channels[ch.id] = ch
		if s.byAccount[ch.platform] == nil {
			s.byAccount[ch.platform] = map[string]*channel{}
		}
		s.byAccount[ch.platform][ch.account] = ch
		s.secrets[ch.platform] = append(s.secrets[ch.platform], ch.cfg.AppSecret.Reveal())
	}
	for _, ac := range cfg.Agents {
		s.agents[ac.ID] = &agent{id: ac.ID, name: ac.Name, channels: ac.Channels, maxConversations: ac.MaxConversations, token: ac.Token.Reveal()}
	}
	return s, nil
}

// agentByToken finds the agent a bearer token belongs to, comparing every
// token in constant time.
func (s *setup) agentByToken(token string) (*agent, bool) {
	var found *agent
	for _, a := range s.agents {
		if subtle.ConstantTimeCompare([]byte(a.token), []byte(token)) == 1 {
			found = a
		}
	}
	return found, found != nil && token != ""
}

func newBot(cfg *config.Config, now func() time.Time) (bots.Bot, error) {
	b := cfg.Bot
	if b.Type == config.BotHTTP {
		return bots.NewHTTP(bots.HTTPConfig{URL: b.URL, Secret: b.Secret.Reveal(), Timeout: b.Timeout, Now: now})
	}
	answers := make([]bots.Answer, len(b.Answers))
	for i, a := range b.Answers {
		answers[i] = bots.Answer{Keywords: a.Keywords, Text: a.Text}
	}
	return bots.NewKeywords(bots.KeywordsConfig{Greeting: b.Greeting, Fallback: b.Fallback, Answers: answers})
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
	if err := a.tasks.Start(queue.Handlers{Process: a.engine.Process, Send: a.engine.Send, Notify: a.engine.Notify, Call: a.engine.Call}); err != nil {
		l.Close()
		return fmt.Errorf("task workers: %w", err)
	}
	a.engine.processor = newProcessor(a.engine.Process, a.engine.pending, a.tasks, a.log, a.cfg.Engine.Workers, processorBuffer)
	// Inboxes a crashed gateway left are drained now rather than at the
	// sweep's grace period: draining twice is harmless (the conversation
	// lock), unlike sending twice, so the outbox keeps its grace period.
	a.engine.processor.recover()
	noticeCtx, cancel := context.WithCancel(context.Background())
	a.stopNotices = cancel
	go a.waiters.run(a.redis.LineNotices(noticeCtx))

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
	a.http = &http.Server{Handler: a.echo, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := a.http.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("http server stopped", "err", err)
		}
	}()
	a.log.Info("gateway started", "listen", l.Addr().String(), "channels", len(a.cfg.Channels), "agents", len(a.cfg.Agents))
	return nil
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
// queue, stop the sweep, stop the task workers (running tasks finish or go
// back to the queue), then close Redis.
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
	if a.engine.processor != nil {
		a.engine.processor.stop()
	}
	if a.cron != nil {
		<-a.cron.Stop().Done()
	}
	if a.stopNotices != nil {
		a.stopNotices()
		a.waiters.close()
	}
	a.tasks.Shutdown()
	errs = append(errs, a.redis.Close())
	return errors.Join(errs...)
}
