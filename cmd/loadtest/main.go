// Command loadtest drives a running gateway on loopback and measures it.
//
//	loadtest config --redis redis://127.0.0.1:6379/0 > /tmp/lt.yaml   a gateway config for load tests
//	loadtest run    --config /tmp/lt.yaml [--floor] [--rate R] ...     signed webhooks; accept and end-to-end latency
//	loadtest claims --config /tmp/lt.yaml --conversations 10000 --agents 100 [--rounds 3]
//	loadtest memory --config /tmp/lt.yaml --conversations 100000
//	loadtest inbox  --config /tmp/lt.yaml --conversations 100000 --listers 50
//	loadtest streams --config /tmp/lt.yaml --streams 1000
//
// Each command ends with "target:" lines, one per target of BENCHMARKS.md it
// measured: name | measured | target | met, NOT MET or reported.
// Every command reads the gateway's configuration (the same YAML, through
// the config package), runs the fake Graph API on meta.graph_url's address,
// refuses non-loopback addresses and stops by itself. The exit status is 1
// when a check fails (a message lost or answered twice, a conversation
// claimed twice), 2 on a usage or setup error. See BENCHMARKS.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"switchboard/loadtest"
)

const usage = `usage: loadtest <command> [flags]

commands:
  config   write a gateway configuration for load tests to stdout
  run      send signed webhooks; report throughput, latency, errors, RSS; check exactly-once
  claims   seed waiting conversations, then have agents claim them all; report claims/s
  memory   seed waiting conversations; report Redis used_memory per conversation
  inbox    seed conversations through the store; report listing latency, then read/typing at a fixed rate
  streams  open event streams; report the Redis connections they cost

run "loadtest <command> -h" for its flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	switch cmd {
	case "config":
		var o loadtest.ConfigOptions
		fs.StringVar(&o.RedisURL, "redis", "", "Redis URL the gateway uses (required, loopback)")
		fs.StringVar(&o.Listen, "listen", "127.0.0.1:8080", "the gateway's listen address")
		fs.StringVar(&o.Graph, "graph", "127.0.0.1:9911", "address of the load tool's fake Graph API")
		fs.IntVar(&o.Workers, "workers", 64, "engine.workers")
		fs.IntVar(&o.Agents, "agents", 100, "agents, each serving every channel")
		fs.StringVar(&o.Prefix, "prefix", "gw:", "redis.prefix")
		if fs.Parse(args) != nil {
			return 2
		}
		if err := loadtest.WriteConfig(stdout, o); err != nil {
			fmt.Fprintln(stderr, "loadtest config:", err)
			return 2
		}
		return 0
	case "run":
		return runLoad(ctx, fs, args, stdout, stderr)
	case "claims", "memory":
		return runSeeded(ctx, cmd, fs, args, stdout, stderr)
	case "inbox":
		return runInbox(ctx, fs, args, stdout, stderr)
	case "streams":
		return runStreams(ctx, fs, args, stdout, stderr)
	}
	fmt.Fprint(stderr, usage)
	return 2
}

// common are the flags every load command has.
type common struct {
	config, targets string
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.config, "config", "", "the gateway's configuration file (required)")
	fs.StringVar(&c.targets, "target", "", "gateway base URL(s), comma-separated (default: http:// + the config's listen)")
}

func (c *common) load() (*loadtest.Target, []string, error) {
	if c.config == "" {
		return nil, nil, fmt.Errorf("--config is required")
	}
	t, err := loadtest.LoadTarget(c.config)
	if err != nil {
		return nil, nil, err
	}
	targets := []string{"http://" + t.Listen}
	if c.targets != "" {
		targets = strings.Split(c.targets, ",")
	}
	for _, u := range targets {
		if err := loadtest.CheckLoopbackURL(u); err != nil {
			return nil, nil, err
		}
	}
	return t, targets, nil
}

func parsePids(s string) ([]int, error) {
	var pids []int
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil, fmt.Errorf("--pid %q: %v", p, err)
		}
		pids = append(pids, n)
	}
	return pids, nil
}

func runLoad(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) int {
	var c common
	c.register(fs)
	var o loadtest.RunOptions
	fs.IntVar(&o.Users, "users", 1000, "simulated users, spread over the three platforms")
	fs.Float64Var(&o.Rate, "rate", 0, "webhooks per second; 0: as fast as --concurrency allows")
	fs.IntVar(&o.Concurrency, "concurrency", 64, "requests in flight at most (one connection each)")
	fs.DurationVar(&o.Duration, "duration", 0, "how long to send (default 10s unless --count is set)")
	fs.IntVar(&o.Count, "count", 0, "how many webhooks to send (0: no count limit)")
	fs.DurationVar(&o.Replay, "replay", 0, "after the load, resend deliveries not answered 200 for up to this long")
	fs.DurationVar(&o.Drain, "drain", 30*time.Second, "how long to wait for the replies at the fake Graph API")
	fs.DurationVar(&o.Settle, "settle", time.Second, "how long to wait after the drain for late duplicates")
	fs.IntVar(&o.SentAgainAllowed, "sent-again-allowed", 0, "replies that may repeat an earlier reply's message: a gateway killed mid-send cannot know whether the platform got what it had in flight, and sends it again")
	fs.StringVar(&o.Text, "text", "", "message text (default \"hello from the load test\"; not a handoff keyword)")
	pidList := fs.String("pid", "", "gateway pid(s), comma-separated: sample their RSS")
	floor := fs.Bool("floor", false, "first run the same load against the ingest floor and the end-to-end floor, on the same Redis")
	if fs.Parse(args) != nil {
		return 2
	}
	t, targets, err := c.load()
	if err != nil {
		fmt.Fprintln(stderr, "loadtest run:", err)
		return 2
	}
	pids, err := parsePids(*pidList)
	if err != nil {
		fmt.Fprintln(stderr, "loadtest run:", err)
		return 2
	}
	o.Progress = stderr

	var ingestFloor, e2eFloor *loadtest.Result
	if *floor {
		if ingestFloor, e2eFloor, err = runFloors(ctx, t, o, stdout); err != nil {
			fmt.Fprintln(stderr, "loadtest run: floor:", err)
			return 2
		}
	}

	graph, err := loadtest.StartGraph(t.Graph)
	if err != nil {
		fmt.Fprintln(stderr, "loadtest run:", err)
		return 2
	}
	defer graph.Close()
	if len(pids) > 0 {
		o.RSS = loadtest.SampleRSS(pids, 200*time.Millisecond)
	}
	o.Targets, o.Label = targets, "gateway, as fast as possible"
	if o.Rate > 0 {
		o.Label = fmt.Sprintf("gateway at %.0f/s", o.Rate)
	}
	if len(targets) > 1 {
		o.Label += fmt.Sprintf(" (%d gateways)", len(targets))
	}
	r, err := loadtest.NewRunner(o, t.Channels, graph)
	if err != nil {
		fmt.Fprintln(stderr, "loadtest run:", err)
		return 2
	}
	res := r.Run(ctx)
	if o.RSS != nil {
		o.RSS.Stop()
	}
	res.Write(stdout)
	if o.RSS != nil {
		fmt.Fprint(stdout, o.RSS.Report())
	}
	var verdicts []loadtest.Verdict
	if *floor {
		fmt.Fprintf(stdout, "== gateway / floors, same run ==\ningest (200/s): %.0f / %.0f = %.2f; p99 accept: %s / %s\n",
			res.AcceptRate(), ingestFloor.AcceptRate(), res.AcceptRate()/ingestFloor.AcceptRate(),
			res.Accept.Quantile(0.99).Round(10*time.Microsecond), ingestFloor.Accept.Quantile(0.99).Round(10*time.Microsecond))
		fmt.Fprintf(stdout, "end to end (replies/s): %.0f / %.0f = %.2f; p99 end to end: %s / %s\n",
			res.EndToEndRate(), e2eFloor.EndToEndRate(), res.EndToEndRate()/e2eFloor.EndToEndRate(),
			res.EndToEnd.Quantile(0.99).Round(10*time.Microsecond), e2eFloor.EndToEnd.Quantile(0.99).Round(10*time.Microsecond))
		verdicts = append(verdicts, loadtest.FloorVerdicts(res, ingestFloor, e2eFloor)...)
		verdicts = append(verdicts, e2eFloor.ExactlyOnce())
	}
	if o.Rate > 0 {
		verdicts = append(verdicts, loadtest.RateVerdict(res, o.Rate))
	}
	verdicts = append(verdicts, res.ExactlyOnce())
	if o.RSS != nil {
		phase := "as fast as possible"
		if o.Rate > 0 {
			phase = fmt.Sprintf("at %.0f/s", o.Rate)
		}
		verdicts = append(verdicts, o.RSS.Verdicts(phase)...)
	}
	for _, v := range verdicts {
		v.Write(stdout)
	}
	if !res.Check.OK() || (o.Replay > 0 && res.Unsent > 0) {
		fmt.Fprintln(stdout, "FAIL")
		return 1
	}
	return 0
}

func runSeeded(ctx context.Context, cmd string, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) int {
	var c common
	c.register(fs)
	n := fs.Int("conversations", 10000, "waiting conversations to seed")
	agents := fs.Int("agents", 100, "claims: concurrent agents (the config must have as many)")
	concurrency := fs.Int("concurrency", 64, "seeding: webhooks in flight")
	limit := fs.Duration("timeout", 5*time.Minute, "bound of each phase")
	rounds := fs.Int("rounds", 1, "claims: seed and claim this many times; the verdict is on the median rate")
	if fs.Parse(args) != nil {
		return 2
	}
	if *rounds < 1 {
		fmt.Fprintf(stderr, "loadtest %s: --rounds must be at least 1, got %d\n", cmd, *rounds)
		return 2
	}
	t, targets, err := c.load()
	if err != nil {
		fmt.Fprintf(stderr, "loadtest %s: %v\n", cmd, err)
		return 2
	}
	graph, err := loadtest.StartGraph(t.Graph)
	if err != nil {
		fmt.Fprintf(stderr, "loadtest %s: %v\n", cmd, err)
		return 2
	}
	defer graph.Close()
	if cmd == "memory" {
		seed := func() error {
			_, err := loadtest.Seed(ctx, t, graph, targets[0], *n, *concurrency, *limit, stderr)
			return err
		}
		return runMemory(ctx, t.Config.Redis.URL.Reveal(), *n, *limit, seed, graph.Total, stdout, stderr)
	}
	if len(t.Agents) < *agents {
		fmt.Fprintf(stderr, "loadtest claims: the config has %d agents, %d asked\n", len(t.Agents), *agents)
		return 2
	}
	var results []*loadtest.ClaimsResult
	failed := false
	for round := range *rounds {
		if *rounds > 1 {
			fmt.Fprintf(stdout, "-- round %d of %d --\n", round+1, *rounds)
		}
		// Each seed has users of its own, so a round's line holds only its conversations.
		seeded, err := loadtest.Seed(ctx, t, graph, targets[0], *n, *concurrency, *limit, stderr)
		if err != nil {
			fmt.Fprintln(stderr, "loadtest claims:", err)
			return 1
		}
		res, err := loadtest.Claims(ctx, targets, t.Agents[:*agents], seeded, *limit)
		if err != nil {
			fmt.Fprintln(stderr, "loadtest claims:", err)
			return 2
		}
		res.Write(stdout)
		results = append(results, res)
		failed = failed || !res.OK()
	}
	loadtest.ClaimsVerdict(results...).Write(stdout)
	if failed {
		fmt.Fprintln(stdout, "FAIL")
		return 1
	}
	return 0
}

// runMemory reports the Redis memory each of n waiting conversations
// takes: used_memory before and after seed, once the fake Graph API got a
// send (counted by sends) for each.
func runMemory(ctx context.Context, redisURL string, n int, limit time.Duration, seed func() error, sends func() int64, stdout, stderr io.Writer) int {
	if redisURL == "" {
		fmt.Fprintln(stderr, "loadtest memory: the config's redis.url is empty (embedded Redis); set a real one")
		return 2
	}
	time.Sleep(2 * time.Second) // let the gateway's startup settle
	before, err := loadtest.UsedMemory(ctx, redisURL)
	if err != nil {
		fmt.Fprintln(stderr, "loadtest memory:", err)
		return 2
	}
	if err := seed(); err != nil {
		fmt.Fprintln(stderr, "loadtest memory:", err)
		return 1
	}
	// Let the sends of the "transferred" messages finish, so what is
	// measured is a conversation at rest in the line.
	for deadline := time.Now().Add(limit); sends() < int64(n) && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(3 * time.Second)
	after, err := loadtest.UsedMemory(ctx, redisURL)
	if err != nil {
		fmt.Fprintln(stderr, "loadtest memory:", err)
		return 2
	}
	per := float64(after-before) / float64(n)
	fmt.Fprintf(stdout, "== memory ==\nRedis used_memory: %d bytes before, %d after %d waiting conversations (%d sends done)\n"+
		"per waiting conversation: %.0f bytes\n", before, after, n, sends(), per)
	loadtest.MemoryVerdict(per, n).Write(stdout)
	return 0
}

func runInbox(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) int {
	var c common
	c.register(fs)
	var o loadtest.InboxOptions
	fs.IntVar(&o.Conversations, "conversations", 100000, "conversations to seed through the store")
	fs.IntVar(&o.Listers, "listers", 50, "concurrent agents listing pages")
	fs.IntVar(&o.Page, "page", 50, "page size")
	fs.DurationVar(&o.Think, "think", 0, "each lister's pause between pages (0: a closed loop)")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "length of each phase")
	fs.Float64Var(&o.SignalRate, "rate", 1000, "read and typing requests per second")
	if fs.Parse(args) != nil {
		return 2
	}
	t, targets, err := c.load()
	if err != nil {
		fmt.Fprintln(stderr, "loadtest inbox:", err)
		return 2
	}
	if t.Config.Redis.URL.Reveal() == "" {
		fmt.Fprintln(stderr, "loadtest inbox: the config's redis.url is empty (embedded Redis); set a real one")
		return 2
	}
	graph, err := loadtest.StartGraph(t.Graph)
	if err != nil {
		fmt.Fprintln(stderr, "loadtest inbox:", err)
		return 2
	}
	defer graph.Close()
	o.Progress = stderr
	res, err := loadtest.Inbox(ctx, t, targets[0], o)
	if err != nil {
		fmt.Fprintln(stderr, "loadtest inbox:", err)
		return 2
	}
	res.Write(stdout)
	for _, v := range res.Verdicts(o.Listers) {
		v.Write(stdout)
	}
	if !res.OK() {
		fmt.Fprintln(stdout, "FAIL")
		return 1
	}
	return 0
}

// runFloors runs the load of o against the ingest floor, then against the
// end-to-end floor, both in this process on the gateway's Redis, and
// prints their reports.
func runFloors(ctx context.Context, t *loadtest.Target, o loadtest.RunOptions, stdout io.Writer) (ingest, e2e *loadtest.Result, err error) {
	redisURL := t.Config.Redis.URL.Reveal()
	f, err := loadtest.StartFloor(redisURL, t.Channels)
	if err != nil {
		return nil, nil, err
	}
	fo := o
	fo.Targets, fo.Label, fo.Replay = []string{f.URL}, "ingest floor", 0
	r, err := loadtest.NewRunner(fo, t.Channels, nil)
	if err != nil {
		_ = f.Close()
		return nil, nil, err
	}
	ingest = r.Run(ctx)
	_ = f.Close()
	ingest.Write(stdout)

	ef, err := loadtest.StartE2EFloor(redisURL, t.Channels, t.Config.Engine.Workers)
	if err != nil {
		return nil, nil, err
	}
	defer ef.Close()
	fo.Targets, fo.Label, fo.Run = []string{ef.URL}, "end-to-end floor", 0
	r, err = loadtest.NewRunner(fo, t.Channels, ef.Graph)
	if err != nil {
		return nil, nil, err
	}
	e2e = r.Run(ctx)
	e2e.Write(stdout)
	return ingest, e2e, nil
}

func runStreams(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) int {
	var c common
	c.register(fs)
	n := fs.Int("streams", 1000, "event streams to open, spread over the config's agents")
	settle := fs.Duration("settle", 2*time.Second, "wait before each count of Redis connections")
	pool := fs.Int("pool", 64, "the gateway's shared Redis pool (64), part of the bound on connections")
	limit := fs.Duration("timeout", 2*time.Minute, "bound of the run")
	if fs.Parse(args) != nil {
		return 2
	}
	t, targets, err := c.load()
	if err != nil {
		fmt.Fprintln(stderr, "loadtest streams:", err)
		return 2
	}
	redisURL := t.Config.Redis.URL.Reveal()
	if redisURL == "" || len(t.Agents) == 0 {
		fmt.Fprintln(stderr, "loadtest streams: the config needs a real redis.url and agents")
		return 2
	}
	res, err := loadtest.Streams(ctx, redisURL, targets[0], t.Agents, len(t.Config.Channels), *pool, *n, *settle, *limit)
	if err != nil {
		fmt.Fprintln(stderr, "loadtest streams:", err)
		return 2
	}
	res.Write(stdout)
	v := res.Verdict()
	v.Write(stdout)
	if res.Opened < *n {
		fmt.Fprintln(stdout, "FAIL")
		return 1
	}
	return 0
}
