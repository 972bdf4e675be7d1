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
	log := newLogger(cfg.Log, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	app, err := gateway.New(ctx, cfg, gateway.Options{Logger: log})
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	if err := app.Start(ctx); err != nil {
		log.Error("cannot start", "err", err)
		_ = app.Shutdown(context.Background())
		return 1
	}
	<-ctx.Done()
	log.Info("shutting down")
	if err := app.Shutdown(context.Background()); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("shutdown incomplete", "err", err)
		return 1
	}
	log.Info("stopped")
	return 0
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.SlogLevel()}
	if c.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
