// Command gateway runs the channel gateway.
//
//	gateway serve --config config/example.yaml   run it
//	gateway check [--config] config/example.yaml validate a config and exit 0 or 1
//	gateway try --config F --channel ID [--at "2026-11-21 22:00"] [--log FILE]
//	                                             chat as a user of a channel, in-process
//	gateway hours --config F [--channel ID] [--week 2026-12-21]
//	                                             print a week of business hours
//	gateway version                              print the version stamp
//	gateway passwd < password                    print a password's bcrypt hash
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
	"runtime/debug"
	"syscall"
	"time"

	"switchboard/cmd/gateway/hours"
	"switchboard/cmd/gateway/try"
	"switchboard/config"
	"switchboard/gateway"
)

const usage = `usage: gateway <command> [--config FILE] [flags]

FILE defaults to config/example.yaml. Exit status: 0 done, 1 failed
(such as an invalid configuration), 2 bad usage; -h prints this.

commands:
  serve   run the gateway
  check   [FILE] validate the configuration (--config FILE, or FILE) and
          exit 0 (valid) or 1, printing each problem as file:line: path: message
  try     --channel ID [--at "YYYY-MM-DD HH:MM"] [--log FILE]
          run the whole gateway in this process (embedded Redis unless the
          config names one, a fake Graph API, the configured bot) and chat
          as a user of the channel; /help lists the agent and clock
          commands. --at sets the simulated clock in the channel's zone.
          Logs go to --log FILE, else they are discarded.
  hours   [--channel ID] [--week YYYY-MM-DD]
          print each channel's week (Monday to Sunday, default this week)
          in its zone and the local one, with holidays, special dates and
          whether it is open now
  version print the version the binary was built as (go build
          -ldflags "-X main.version=v1.2.3"), else its commit, if known
  passwd  read one line (a password) on standard input and print its
          bcrypt hash, for an agent's password_hash
`

// version is stamped at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is main with its inputs and outputs explicit; it returns the exit code.
func run(args []string, stdin *os.File, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	case "version":
		fmt.Fprintln(stdout, "gateway", versionString())
		return 0
	case "passwd":
		return passwd(args, stdin, stdout, stderr)
	case "serve", "check", "try", "hours":
	default:
		fmt.Fprintf(stderr, "unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	// Parse's own messages are replaced by ours, with the usage on stdout
	// for -h and on stderr for a mistake.
	fs.SetOutput(io.Discard)
	path := fs.String("config", "config/example.yaml", "configuration file")
	var channel, at, week, logFile string
	switch cmd {
	case "try":
		fs.StringVar(&channel, "channel", "", "the channel whose user you play (required)")
		fs.StringVar(&at, "at", "", `the simulated clock, "YYYY-MM-DD HH:MM" in the channel's zone (default now)`)
		fs.StringVar(&logFile, "log", "", "append the gateway's logs to this file (default: discard them)")
	case "hours":
		fs.StringVar(&channel, "channel", "", "print only this channel")
		fs.StringVar(&week, "week", "", "any day of the week to print, YYYY-MM-DD (default this week)")
	}
	printUsage := func(w io.Writer) {
		fmt.Fprintf(w, "%s\nflags of %s:\n", usage, cmd)
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout)
			return 0
		}
		fmt.Fprintf(stderr, "%s: %v\n\n", cmd, err)
		printUsage(stderr)
		return 2
	}
	rest := fs.Args()
	if cmd == "check" && len(rest) > 0 {
		configSet := false
		fs.Visit(func(f *flag.Flag) { configSet = configSet || f.Name == "config" })
		if configSet {
			fmt.Fprintf(stderr, "check: the file is given twice (--config %s and %s): give one\n\n", *path, rest[0])
			printUsage(stderr)
			return 2
		}
		*path, rest = rest[0], rest[1:]
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n\n", cmd, rest[0])
		printUsage(stderr)
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
	case "try":
		if channel == "" {
			fmt.Fprintln(stderr, "try: --channel is required")
			return 2
		}
		return runTry(*path, try.Options{Channel: channel, At: at, In: stdin, Out: stdout, Echo: !isTerminal(stdin)}, logFile, stderr)
	default: // hours
		return printHours(*path, channel, week, stdout, stderr)
	}
}

// versionString is the stamped version, or "dev" with the commit the Go
// toolchain recorded (a build from a git checkout), and the Go version.
func versionString() string {
	v := version
	if info, ok := debug.ReadBuildInfo(); ok {
		if v == "dev" {
			for _, s := range info.Settings {
				if s.Key == "vcs.revision" {
					v += " " + s.Value
				}
			}
		}
		v += " " + info.GoVersion
	}
	return v
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

// runTry runs the in-process simulator until /quit, the end of input, SIGINT
// or SIGTERM.
func runTry(path string, opts try.Options, logFile string, stderr io.Writer) int {
	cfg, err := config.Load(path, os.Getenv)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if logFile != "" {
		f, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		defer f.Close()
		opts.Logger = newLogger(cfg.Log, f)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := try.Run(ctx, cfg, opts); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

// printHours prints the business hours of one week.
func printHours(path, channel, week string, stdout, stderr io.Writer) int {
	cfg, err := config.Load(path, os.Getenv)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	opts := hours.Options{Channel: channel}
	if week != "" {
		if opts.Week, err = time.Parse(time.DateOnly, week); err != nil {
			fmt.Fprintf(stderr, "hours: --week %q: want YYYY-MM-DD\n", week)
			return 2
		}
	}
	if err := hours.Print(stdout, cfg, opts); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

// isTerminal reports whether f is a terminal, which echoes what is typed.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
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
