package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// SentinelMaster is the master's name in the test Sentinels' configuration.
const SentinelMaster = "switchboard"

// A group is a Redis Cluster (three masters with one replica each) or a
// Sentinel set (a master, a replica and three Sentinels), started once per
// test binary because it takes seconds, and lent to one test at a time:
// Start waits for the lease and flushes every master. Its processes die with
// the test binary: each runs under a shell that kills it when its standard
// input, a pipe from this process, closes.
type group struct {
	kind  string
	lease sync.Mutex
	dir   string
	nodes []*proc // redis-servers; for a cluster, masters first as created
	sents []*proc // Sentinels
	dead  bool    // stopped or failed over: the next Start builds a new one
	// holder is the test that holds the lease (guarded by groupsMu).
	holder testing.TB
}

// proc is one redis-server under its watchdog shell.
type proc struct {
	addr string
	args []string
	cmd  *exec.Cmd
	stop func() // closes the watchdog's stdin
}

var (
	groupsMu sync.Mutex
	groups   = map[string]*group{}
)

// startGroup lends t the group of kind (building it when there is none or
// the last one is dead) until t ends.
func startGroup(t testing.TB, kind string) *group {
	t.Helper()
	groupsMu.Lock()
	g := groups[kind]
	if g == nil {
		g = &group{kind: kind}
		groups[kind] = g
	}
	mine := g.holder == t
	groupsMu.Unlock()
	if mine {
		// Waiting for the lease would wait for this very test.
		t.Fatalf("redistest: this test holds the %s already; share its Server", kind)
	}
	g.lease.Lock()
	groupsMu.Lock()
	g.holder = t
	groupsMu.Unlock()
	t.Cleanup(func() {
		groupsMu.Lock()
		g.holder = nil
		groupsMu.Unlock()
		g.lease.Unlock()
	})
	if g.dead || g.nodes == nil {
		g.kill()
		g.dead = false
		g.build(t)
	}
	g.flush(t)
	return g
}

func (g *group) build(t testing.TB) {
	t.Helper()
	dir, err := os.MkdirTemp("", "redistest-"+g.kind+"-")
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	g.dir = dir
	g.nodes, g.sents = nil, nil
	switch g.kind {
	case "cluster":
		g.buildCluster(t)
	case "sentinel":
		g.buildSentinel(t)
	}
}

func (g *group) buildCluster(t testing.TB) {
	t.Helper()
	var addrs []string
	for i := range 6 {
		port, bus := freePort(t), freePort(t)
		nodeDir := filepath.Join(g.dir, strconv.Itoa(i))
		if err := os.MkdirAll(nodeDir, 0o755); err != nil {
			t.Fatalf("redistest: %v", err)
		}
		p := g.spawn(t, port, "--cluster-enabled", "yes", "--cluster-port", strconv.Itoa(bus),
			"--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "3000", "--dir", nodeDir)
		g.nodes = append(g.nodes, p)
		addrs = append(addrs, p.addr)
	}
	out, err := exec.Command("redis-cli", append(append([]string{"--cluster", "create"}, addrs...),
		"--cluster-replicas", "1", "--cluster-yes")...).CombinedOutput()
	if err != nil {
		g.kill()
		t.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, out)
	}
	g.waitCluster(t)
}

// waitCluster waits until every node says the cluster is ok and knows all
// six nodes, and every replica is in sync with its master.
func (g *group) waitCluster(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, p := range g.nodes {
		c := redis.NewClient(&redis.Options{Addr: p.addr, Protocol: 2})
		for {
			info, _ := c.ClusterInfo(context.Background()).Result()
			repl, _ := c.Info(context.Background(), "replication").Result()
			if strings.Contains(info, "cluster_state:ok") && strings.Contains(info, "cluster_known_nodes:6") &&
				(strings.Contains(repl, "role:master") || strings.Contains(repl, "master_link_status:up")) {
				break
			}
			if time.Now().After(deadline) {
				c.Close()
				g.kill()
				t.Fatalf("redistest: cluster node %s not ready: %s", p.addr, info)
			}
			time.Sleep(20 * time.Millisecond) // waiting for the cluster to converge, not for time to pass
		}
		c.Close()
	}
}

func (g *group) buildSentinel(t testing.TB) {
	t.Helper()
	master := g.spawn(t, freePort(t), "--dir", g.dir)
	replica := g.spawn(t, freePort(t), "--dir", g.dir, "--dbfilename", "replica.rdb",
		"--replicaof", "127.0.0.1", portOf(master.addr))
	g.nodes = []*proc{master, replica}
	for i := range 3 {
		port := freePort(t)
		conf := filepath.Join(g.dir, fmt.Sprintf("sentinel-%d.conf", i))
		text := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor %s 127.0.0.1 %s 2\n"+
			"sentinel down-after-milliseconds %[3]s 2000\nsentinel failover-timeout %[3]s 10000\n",
			port, g.dir, SentinelMaster, portOf(master.addr))
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatalf("redistest: %v", err)
		}
		g.sents = append(g.sents, g.spawnArgs(t, "127.0.0.1:"+strconv.Itoa(port), conf, "--sentinel"))
	}
	g.waitSentinel(t, 1)
}

// waitSentinel waits until every Sentinel names the same master and that
// master has replicas replicas online.
func (g *group) waitSentinel(t testing.TB, replicas int) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for {
		master, agreed := "", true
		for _, s := range g.sents {
			c := redis.NewSentinelClient(&redis.Options{Addr: s.addr, Protocol: 2})
			addr, err := c.GetMasterAddrByName(ctx, SentinelMaster).Result()
			c.Close()
			if err != nil || (master != "" && master != net.JoinHostPort(addr[0], addr[1])) {
				agreed = false
				break
			}
			master = net.JoinHostPort(addr[0], addr[1])
		}
		online := 0
		if agreed {
			c := redis.NewClient(&redis.Options{Addr: master, Protocol: 2})
			info, _ := c.Info(ctx, "replication").Result()
			c.Close()
			online = strings.Count(info, "state=online")
		}
		if online >= replicas {
			return
		}
		if time.Now().After(deadline) {
			g.kill()
			t.Fatalf("redistest: the Sentinels' master %q has %d replicas online, want %d", master, online, replicas)
		}
		time.Sleep(20 * time.Millisecond) // waiting for the Sentinels to converge, not for time to pass
	}
}

// spawn starts a redis-server on port with the common options and args.
func (g *group) spawn(t testing.TB, port int, args ...string) *proc {
	t.Helper()
	return g.spawnArgs(t, "127.0.0.1:"+strconv.Itoa(port), append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"}, args...)...)
}

func (g *group) spawnArgs(t testing.TB, addr string, args ...string) *proc {
	t.Helper()
	p := &proc{addr: addr, args: args}
	if err := p.start(); err != nil {
		g.kill()
		t.Fatalf("redistest: %v", err)
	}
	return p
}

func (p *proc) start() error {
	// The shell kills redis-server when its stdin reaches end of file: on
	// stop, or when the test binary dies without cleaning up.
	cmd := exec.Command("sh", "-c", `redis-server "$@" & p=$!; read _; kill -9 $p; wait $p`, "sh")
	cmd.Args = append(cmd.Args, p.args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	p.cmd, p.stop = cmd, func() { stdin.Close() }
	if !waitListening(p.addr, 10*time.Second) {
		p.kill()
		return fmt.Errorf("redis-server %s did not start", p.addr)
	}
	return nil
}

func (p *proc) kill() {
	if p.cmd == nil {
		return
	}
	p.stop()
	_ = p.cmd.Wait()
	p.cmd = nil
}

func (g *group) kill() {
	for _, p := range append(append([]*proc(nil), g.sents...), g.nodes...) {
		p.kill()
	}
	g.nodes, g.sents = nil, nil
	if g.dir != "" {
		os.RemoveAll(g.dir)
		g.dir = ""
	}
}

// masters returns the addresses of the current masters.
func (g *group) masters(t testing.TB) []string {
	t.Helper()
	ctx := context.Background()
	if g.kind == "sentinel" {
		c := redis.NewSentinelClient(&redis.Options{Addr: g.sents[0].addr, Protocol: 2})
		defer c.Close()
		addr, err := c.GetMasterAddrByName(ctx, SentinelMaster).Result()
		if err != nil {
			t.Fatalf("redistest: sentinel master: %v", err)
		}
		return []string{net.JoinHostPort(addr[0], addr[1])}
	}
	var out []string
	for _, p := range g.nodes {
		if p.cmd == nil {
			continue
		}
		c := redis.NewClient(&redis.Options{Addr: p.addr, Protocol: 2})
		info, err := c.Info(ctx, "replication").Result()
		c.Close()
		if err == nil && strings.Contains(info, "role:master") {
			out = append(out, p.addr)
		}
	}
	return out
}

// flush empties every master (replicas follow).
func (g *group) flush(t testing.TB) {
	t.Helper()
	for _, addr := range g.masters(t) {
		c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2})
		err := c.FlushAll(context.Background()).Err()
		c.Close()
		if err != nil {
			t.Fatalf("redistest: flush %s: %v", addr, err)
		}
	}
}

func (g *group) addrs(ps []*proc) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.addr
	}
	return out
}

func portOf(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// stop kills every process of the group, as if the machines crashed; the
// group stays dead for the next test unless restart brings it back.
func (g *group) stop() {
	for _, p := range append(append([]*proc(nil), g.sents...), g.nodes...) {
		p.kill()
	}
	g.dead = true
}

// restart starts the stopped processes again on their addresses, empty; a
// cluster's nodes find each other again from their nodes.conf.
func (g *group) restart(t testing.TB) {
	t.Helper()
	for _, p := range append(append([]*proc(nil), g.nodes...), g.sents...) {
		if p.cmd != nil {
			continue
		}
		if err := p.start(); err != nil {
			t.Fatalf("redistest: %v", err)
		}
	}
	if g.kind == "cluster" {
		g.waitCluster(t)
	} else {
		g.waitSentinel(t, 1)
	}
	g.dead = false
}

// Failover replaces a master by its replica under load, as an operator or
// a crash would: on a cluster, the master that holds key is handed over to
// its replica (CLUSTER FAILOVER on the replica) and then killed; on a
// Sentinel set the master is killed and the Sentinels promote the replica.
// The old master then comes back, empty, as the new master's replica, as
// an orchestrator would restart it; Failover returns once it is in sync.
// It fails the test on another kind. The group is rebuilt for the next
// test.
func (s *Server) Failover(key string) {
	s.t.Helper()
	if s.grp == nil {
		s.t.Fatalf("redistest: Failover needs %s=cluster or =sentinel, not %s", EnvMode, s.Kind)
	}
	s.grp.dead = true
	ctx := context.Background()
	old := s.grp.masters(s.t)[0]
	if s.Kind == "cluster" {
		c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: s.Cluster, Protocol: 2})
		m, err := c.MasterForKey(ctx, key)
		if err != nil {
			c.Close()
			s.t.Fatalf("redistest: master for %q: %v", key, err)
		}
		old = m.Options().Addr
		c.Close()
		replica := s.grp.replicaOf(s.t, old)
		rc := redis.NewClient(&redis.Options{Addr: replica, Protocol: 2})
		defer rc.Close()
		if err := rc.ClusterFailover(ctx).Err(); err != nil {
			s.t.Fatalf("redistest: CLUSTER FAILOVER on %s: %v", replica, err)
		}
		waitRole(s.t, rc, "role:master")
	}
	for _, p := range s.grp.nodes {
		if p.addr == old {
			p.kill()
		}
	}
	if s.Kind == "sentinel" {
		deadline := time.Now().Add(60 * time.Second)
		for s.grp.masters(s.t)[0] == old {
			if time.Now().After(deadline) {
				s.t.Fatalf("redistest: the Sentinels did not promote a replica of %s", old)
			}
			time.Sleep(50 * time.Millisecond) // waiting for the Sentinels' election, not for time to pass
		}
	}
	s.grp.restart(s.t)
	s.grp.dead = true
}

// replicaOf returns the address of a replica of the master at addr.
func (g *group) replicaOf(t testing.TB, addr string) string {
	t.Helper()
	for _, p := range g.nodes {
		if p.cmd == nil {
			continue
		}
		c := redis.NewClient(&redis.Options{Addr: p.addr, Protocol: 2})
		info, err := c.Info(context.Background(), "replication").Result()
		c.Close()
		if err == nil && strings.Contains(info, "master_port:"+portOf(addr)+"\r\n") {
			return p.addr
		}
	}
	t.Fatalf("redistest: no replica of %s", addr)
	return ""
}

// waitRole waits until the node c speaks to reports role (INFO replication).
func waitRole(t testing.TB, c *redis.Client, role string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		info, _ := c.Info(context.Background(), "replication").Result()
		if strings.Contains(info, role+"\r\n") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("redistest: %s never reported %s", c.Options().Addr, role)
		}
		time.Sleep(20 * time.Millisecond) // waiting for the failover, not for time to pass
	}
}
