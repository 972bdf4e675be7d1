// Command gateway runs the channel gateway.
//
//	gateway serve --config config/example.yaml   run it
//	gateway check --config config/example.yaml   validate a config and exit 0 or 1
//
// main only parses flags, reads the config, handles signals and hands off to
// the gateway package.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"switchboard/config"
	"switchboard/gateway"
)

const usage = `usage: gateway <command> [--config FILE]

commands:
  serve   run the gateway
  check   validate the configuration and exit 0 (valid) or 1
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main with its inputs and outputs explicit; it returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "config/example.yaml", "configuration file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	switch cmd {
	case "check":
		if _, err := config.Load(*path, os.Getenv); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintf(stdout, "%s: ok\n", *path)
		return 0
	case "serve":
		return serve(*path, stderr)
	}
	fmt.Fprint(stderr, usage)
	return 2
}

// serve runs the gateway until SIGINT or SIGTERM, then shuts it down in order.
func serve(path string, stderr io.Writer) int {
	cfg, err := config.Load(path, os.Getenv)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	level := new(slog.LevelVar)
	log := newLevelLogger(cfg.Log, level, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	app, err := gateway.New(ctx, cfg, gateway.Options{Logger: log,
		Ops: gateway.OpsOptions{ConfigPath: path, Getenv: os.Getenv, LogLevel: level}})
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	if err := app.Start(ctx); err != nil {
		log.Error("cannot start", "err", err)
		_ = app.Shutdown(context.Background())
		return 1
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-hup:
			reload(ctx, app, log)
		}
	}
	log.Info("shutting down")
	if err := app.Shutdown(context.Background()); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("shutdown incomplete", "err", err)
		return 1
	}
	log.Info("stopped")
	return 0
}

// reload applies the configuration file again (SIGHUP); an invalid file is
// logged problem by problem and the running configuration stays.
func reload(ctx context.Context, app *gateway.App, log *slog.Logger) {
	log.Info("SIGHUP: reloading the configuration")
	_, err := app.Reload(ctx)
	var cfgErr *config.Error
	switch {
	case errors.As(err, &cfgErr):
		for _, p := range cfgErr.Problems {
			log.Error("configuration problem; the running configuration is kept", "problem", p.String())
		}
	case err != nil:
		log.Error("reload failed; the running configuration is kept", "err", err)
	}
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	return newLevelLogger(c, new(slog.LevelVar), w)
}

// newLevelLogger logs at level, which it sets to c.Level; a reload may
// change it.
func newLevelLogger(c config.Log, level *slog.LevelVar, w io.Writer) *slog.Logger {
	level.Set(c.SlogLevel())
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
