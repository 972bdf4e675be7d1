package gateway

import (
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"sync"

	"github.com/labstack/echo/v4"

	"switchboard/config"
)

// OpsOptions are the process-level options of reload and notifications.
type OpsOptions struct {
	// ConfigPath is the file a reload reads again; empty disables reload.
	ConfigPath string
	// Getenv expands ${VAR} in the file on reload (the process passes
	// os.Getenv); nil means an empty environment.
	Getenv func(string) string
	// LogLevel is the level of the process's logger; a reload sets it to
	// log.level. Nil: the level is not changed.
	LogLevel *slog.LevelVar
	// SMTPRootCAs verifies SMTP servers' certificates after STARTTLS; nil
	// means the system's roots. Tests pass their own.
	SMTPRootCAs *x509.CertPool
	// WebhookClient delivers webhook notifications; nil: a client with the
	// webhook's timeout.
	WebhookClient *http.Client
}

// ops holds what reloads share; mu makes them one at a time.
type ops struct {
	opts    OpsOptions
	started *config.Config // the settings that need a restart stay these
	mu      sync.Mutex
}

func newOps(o OpsOptions, cfg *config.Config) *ops {
	if o.LogLevel != nil {
		o.LogLevel.Set(cfg.Log.SlogLevel())
	}
	return &ops{opts: o, started: cfg}
}

// errNoConfigFile: the gateway was built from a config without a file.
var errNoConfigFile = &apiError{http.StatusConflict, "no_config_file", "the gateway was not started from a configuration file; nothing to reload"}

// ReloadResult says what a reload did.
type ReloadResult struct {
	Channels int `json:"channels"`
	Agents   int `json:"agents"`
	// RestartRequired lists changed settings that apply only after a
	// restart (listen, redis...); the running values are kept.
	RestartRequired []string `json:"restart_required"`
	// Retired lists channels removed from the file that are kept until
	// their waiting and open conversations are taken or expire.
	Retired []string `json:"retired"`
	// Released lists the conversations of agents the file removed (or who
	// no longer serve their channel), returned to their line at their place.
	Released []string `json:"released"`
}

// Reload reads the configuration file again. When it is valid the new
// channels, agents, bot, hours, messages, modes and log level take effect
// at once: the engine's setup is swapped in one atomic step, so a request
// or event sees the old setup or the new one, never a mix, and nothing in
// Redis changes (waiting conversations keep their place). When it is not,
// the running configuration stays and the *config.Error listing every
// problem is returned. Reloads run one at a time.
func (a *App) Reload(ctx context.Context) (ReloadResult, error) {
	a.ops.mu.Lock()
	defer a.ops.mu.Unlock()
	if a.ops.opts.ConfigPath == "" {
		return ReloadResult{}, errNoConfigFile
	}
	cfg, err := config.Load(a.ops.opts.ConfigPath, a.ops.opts.Getenv)
	if err != nil {
		a.ops.reloads(a, "invalid")
		return ReloadResult{}, err
	}
	return a.apply(ctx, cfg)
}

func (o *ops) reloads(a *App, result string) {
	a.metrics.ops.reloads.WithLabelValues(result).Inc()
}

// apply swaps in a validated configuration.
func (a *App) apply(ctx context.Context, cfg *config.Config) (ReloadResult, error) {
	s, err := newSetup(cfg)
	if err != nil {
		a.ops.reloads(a, "invalid")
		return ReloadResult{}, err
	}
	if s.bot, err = newBot(cfg, a.now); err != nil {
		a.ops.reloads(a, "invalid")
		return ReloadResult{}, err
	}
	old := a.engine.setup.Load()
	retired, err := a.engine.carryRetired(ctx, old, s)
	if err != nil {
		a.ops.reloads(a, "failed")
		return ReloadResult{}, err
	}
	a.engine.setup.Store(s)
	released, err := a.engine.releaseOrphaned(ctx, s)
	if err != nil {
		a.log.WarnContext(ctx, "conversations of removed agents not all released; the admin release route frees the rest", "released", len(released), "err", err)
	}
	if a.ops.opts.LogLevel != nil {
		a.ops.opts.LogLevel.Set(cfg.Log.SlogLevel())
	}
	res := ReloadResult{Channels: len(cfg.Channels), Agents: len(cfg.Agents),
		RestartRequired: config.RestartRequired(a.ops.started, cfg), Retired: retired, Released: released}
	if res.RestartRequired == nil {
		res.RestartRequired = []string{}
	}
	if res.Retired == nil {
		res.Retired = []string{}
	}
	a.ops.reloads(a, "applied")
	a.log.InfoContext(ctx, "configuration reloaded", "config", cfg, "retired", retired)
	for _, path := range res.RestartRequired {
		a.log.WarnContext(ctx, "setting changed but applies only after a restart; the running value is kept", "setting", path)
	}
	return res, nil
}

// carryRetired keeps in the new setup the channels the new configuration
// removed while conversations still wait or are open on them (their line,
// claiming set, deadlines or inbox are not empty), marked retired: webhooks
// no longer reach them (they are not in byAccount), but the sweep expires
// their conversations and the agents who served them (in the old setup and
// still configured) can still list, take and answer them. It returns the
// retired channels' ids.
func (e *Engine) carryRetired(ctx context.Context, old, s *setup) ([]string, error) {
	var retired []string
	for id, ch := range old.channels {
		if _, kept := s.channels[id]; kept {
			continue
		}
		active, err := e.store.ChannelActive(ctx, id)
		if err != nil {
			return nil, err
		}
		if !active {
			continue
		}
		r := *ch
		r.retired = true
		s.channels[id] = &r
		retired = append(retired, id)
		for agentID, oa := range old.agents {
			if na, ok := s.agents[agentID]; ok && oa.serves(id) && !na.serves(id) {
				na.channels = append(slices.Clip(na.channels), id)
			}
		}
	}
	slices.Sort(retired)
	return retired, nil
}

// pruneRetired drops the retired channels that have nothing left (run by
// every Tick, after the sweep). It swaps the setup only if no reload did
// meanwhile; a reload carries the remaining ones over itself.
func (e *Engine) pruneRetired(ctx context.Context) error {
	s := e.setup.Load()
	var done []string
	for id, ch := range s.channels {
		if !ch.retired {
			continue
		}
		active, err := e.store.ChannelActive(ctx, id)
		if err != nil {
			return err
		}
		if !active {
			done = append(done, id)
		}
	}
	if len(done) == 0 {
		return nil
	}
	ns := *s
	ns.channels = make(map[string]*channel, len(s.channels))
	for id, ch := range s.channels {
		if !slices.Contains(done, id) {
			ns.channels[id] = ch
		}
	}
	ns.agents = make(map[string]*agent, len(s.agents))
	for id, ag := range s.agents {
		na := *ag
		na.channels = slices.DeleteFunc(slices.Clone(ag.channels), func(c string) bool { return slices.Contains(done, c) })
		ns.agents[id] = &na
	}
	if e.setup.CompareAndSwap(s, &ns) {
		e.log.Info("retired channels dropped: no conversation left", "channels", done)
	}
	return nil
}

// reload is POST /api/v1/admin/reload.
func (a *App) reload(c echo.Context) error {
	res, err := a.Reload(c.Request().Context())
	if err != nil {
		var cfgErr *config.Error
		if errors.As(err, &cfgErr) {
			a.log.WarnContext(c.Request().Context(), "reload rejected; the running configuration is kept", "problems", len(cfgErr.Problems))
		}
		return err
	}
	return c.JSON(http.StatusOK, res)
}
