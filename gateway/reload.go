package gateway

import (
	"context"
	"crypto/x509"
	"log/slog"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"switchboard/config"
	"switchboard/gateway/engine"
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
	reloads *prometheus.CounterVec
	mu      sync.Mutex
}

func newOps(o OpsOptions, cfg *config.Config, r prometheus.Registerer) *ops {
	if o.LogLevel != nil {
		o.LogLevel.Set(cfg.Log.SlogLevel())
	}
	reloads := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_config_reloads_total",
		Help: "Configuration reloads, by result (applied, invalid, failed)."}, []string{"result"})
	r.MustRegister(reloads)
	return &ops{opts: o, started: cfg, reloads: reloads}
}

// errNoConfigFile: the gateway was built from a config without a file.
var errNoConfigFile = &engine.Error{Code: engine.CodeNoConfigFile, Message: "the gateway was not started from a configuration file; nothing to reload"}

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
		a.ops.reloads.WithLabelValues("invalid").Inc()
		return ReloadResult{}, err
	}
	return a.apply(ctx, cfg)
}

// apply swaps in a validated configuration.
func (a *App) apply(ctx context.Context, cfg *config.Config) (ReloadResult, error) {
	retired, err := a.engine.Reload(ctx, cfg)
	if err != nil {
		if code, _ := engine.ErrorCode(err); code == engine.CodeInvalidConfig {
			a.ops.reloads.WithLabelValues("invalid").Inc()
		} else {
			a.ops.reloads.WithLabelValues("failed").Inc()
		}
		return ReloadResult{}, err
	}
	if a.ops.opts.LogLevel != nil {
		a.ops.opts.LogLevel.Set(cfg.Log.SlogLevel())
	}
	released, err := a.engine.ReleaseOrphaned(ctx)
	if err != nil {
		a.log.WarnContext(ctx, "conversations of removed agents not all released; the admin release route frees the rest", "released", len(released), "err", err)
	}
	res := ReloadResult{Channels: len(cfg.Channels), Agents: len(cfg.Agents),
		RestartRequired: config.RestartRequired(a.ops.started, cfg), Retired: retired, Released: released}
	if res.RestartRequired == nil {
		res.RestartRequired = []string{}
	}
	if res.Retired == nil {
		res.Retired = []string{}
	}
	a.ops.reloads.WithLabelValues("applied").Inc()
	a.log.InfoContext(ctx, "configuration reloaded", "config", cfg, "retired", retired)
	for _, path := range res.RestartRequired {
		a.log.WarnContext(ctx, "setting changed but applies only after a restart; the running value is kept", "setting", path)
	}
	return res, nil
}
