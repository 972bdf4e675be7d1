// Package redistest gives tests a Redis of their own: a real redis-server
// started on a free loopback port when the binary is on PATH, else an
// embedded miniredis. SWITCHBOARD_TEST_REDIS=server or =embedded forces one
// (server fails the test when the binary is missing); =cluster gives a
// Redis Cluster of three masters with one replica each, =sentinel a master
// with one replica watched by three Sentinels, both shared by the tests of
// one binary one at a time and flushed for each: a test and its subtests
// start at most one of each kind (a second Start waits for the first test
// to end).
//
// It is test support only: it imports miniredis, go-redis and the standard
// library, nothing of this module.
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// EnvMode is the environment variable that forces the kind of Redis.
const EnvMode = "SWITCHBOARD_TEST_REDIS"

// Server is a Redis that lives as long as the test.
type Server struct {
	// Addr is host:port; URL is the same as a redis:// URL. For a cluster
	// or a Sentinel set they name a master, which is not how a client
	// should connect: use Cluster or SentinelAddrs.
	Addr, URL string
	// Kind is "server", "embedded", "cluster" or "sentinel".
	Kind string
	// Cluster lists the cluster's nodes (Kind "cluster").
	Cluster []string
	// SentinelAddrs lists the Sentinels (Kind "sentinel"), which know the
	// master as SentinelMaster.
	SentinelAddrs []string

	t    testing.TB
	port int
	cmd  *exec.Cmd
	mini *miniredis.Miniredis
	grp  *group
}

// Start starts a Redis for t and stops it when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartKind(t, mode(t))
}

// StartKind is Start with the kind chosen by the test, whatever
// SWITCHBOARD_TEST_REDIS says: "server", "embedded", "cluster" or
// "sentinel".
func StartKind(t testing.TB, kind string) *Server {
	t.Helper()
	if kind != "embedded" {
		for _, bin := range []string{"redis-server", "redis-cli"} {
			if _, err := exec.LookPath(bin); err != nil {
				t.Fatalf("redistest: a %s Redis needs %s on PATH", kind, bin)
			}
		}
	}
	s := &Server{t: t, Kind: kind}
	if s.Kind == "cluster" || s.Kind == "sentinel" {
		s.grp = startGroup(t, s.Kind)
		s.setAddr(s.grp.masters(t)[0])
		if s.Kind == "cluster" {
			s.Cluster = s.grp.addrs(s.grp.nodes)
		} else {
			s.SentinelAddrs = s.grp.addrs(s.grp.sents)
		}
		return s
	}
	if s.Kind == "embedded" {
		s.mini = miniredis.NewMiniRedis()
		if err := s.mini.StartAddr("127.0.0.1:0"); err != nil {
			t.Fatalf("redistest: start miniredis: %v", err)
		}
		s.setAddr(s.mini.Addr())
	} else {
		s.startServer()
	}
	t.Cleanup(s.Stop)
	return s
}

func mode(t testing.TB) string {
	_, err := exec.LookPath("redis-server")
	switch m := os.Getenv(EnvMode); m {
	case "embedded":
		return "embedded"
	case "cluster", "sentinel":
		if err != nil {
			t.Fatalf("redistest: %s=%s but redis-server is not on PATH", EnvMode, m)
		}
		if _, err := exec.LookPath("redis-cli"); err != nil && m == "cluster" {
			t.Fatalf("redistest: %s=cluster but redis-cli is not on PATH", EnvMode)
		}
		return m
	case "server":
		if err != nil {
			t.Fatalf("redistest: %s=server but redis-server is not on PATH", EnvMode)
		}
		return "server"
	}
	if err != nil {
		return "embedded"
	}
	return "server"
}

func (s *Server) setAddr(addr string) {
	s.Addr = addr
	s.URL = "redis://" + addr + "/0"
	_, p, _ := net.SplitHostPort(addr)
	s.port, _ = strconv.Atoi(p)
}

// startServer starts redis-server on s.port (a free one when 0) and waits
// until it accepts connections.
func (s *Server) startServer() {
	s.t.Helper()
	for attempt := 0; attempt < 5; attempt++ {
		port := s.port
		if port == 0 {
			port = freePort(s.t)
		}
		cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning",
			"--dir", s.t.TempDir())
		if err := cmd.Start(); err != nil {
			s.t.Fatalf("redistest: start redis-server: %v", err)
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if waitListening(addr, 5*time.Second) {
			s.cmd = cmd
			s.setAddr(addr)
			return
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if s.port != 0 {
			break // a restart must get its old port back
		}
	}
	s.t.Fatalf("redistest: redis-server did not start")
}

// Stop stops the Redis (as if it crashed); Restart brings it back, empty,
// on the same address.
func (s *Server) Stop() {
	if s.grp != nil {
		s.grp.stop()
		return
	}
	if s.mini != nil {
		s.mini.Close()
		return
	}
	if s.cmd != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

// Restart starts a stopped Redis again on the same address.
func (s *Server) Restart() {
	s.t.Helper()
	if s.grp != nil {
		s.grp.restart(s.t)
		return
	}
	if s.mini != nil {
		if err := s.mini.Restart(); err != nil {
			s.t.Fatalf("redistest: restart miniredis: %v", err)
		}
		return
	}
	s.startServer()
}

// FastForward moves the Redis' clock of TTLs forward by d, so that tests
// let keys expire without waiting: miniredis' clock moves; on a real server
// every key's TTL shrinks by d, and a key whose TTL is at most d is deleted.
// Time itself does not move on the server: a command that reads the clock
// (TIME) sees the real one.
func (s *Server) FastForward(d time.Duration) {
	s.t.Helper()
	if s.mini != nil {
		s.mini.FastForward(d)
		return
	}
	script, dbs, addrs := fastForwardScript, "15", []string{s.Addr}
	if s.grp != nil {
		addrs = s.grp.masters(s.t)
		if s.Kind == "cluster" {
			// A cluster has database 0 only, and a script that touches
			// keys of several slots must say so.
			script, dbs = "#!lua flags=allow-cross-slot-keys\n"+script, "0"
		}
	}
	for _, addr := range addrs {
		if err := eval(addr, script, strconv.FormatInt(d.Milliseconds(), 10), dbs); err != nil {
			s.t.Fatalf("redistest: fast-forward: %v", err)
		}
	}
}

// fastForwardScript shrinks every key's TTL by ARGV[1] ms, in databases 0
// to ARGV[2]. It returns nothing.
const fastForwardScript = `
local d = tonumber(ARGV[1])
for db = 0, tonumber(ARGV[2]) do
  redis.call('SELECT', db)
  local cursor = '0'
  repeat
    local r = redis.call('SCAN', cursor, 'COUNT', 1000)
    cursor = r[1]
    for _, k in ipairs(r[2]) do
      local ttl = redis.call('PTTL', k)
      if ttl > 0 then
        if ttl <= d then redis.call('DEL', k) else redis.call('PEXPIRE', k, ttl - d) end
      end
    end
  until cursor == '0'
end
`

// eval runs a script with no keys on the real server at addr over a
// connection of its own (this package speaks just enough of the protocol
// for it) and returns the error it answered, if any.
func eval(addr, script string, args ...string) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		return err
	}
	words := append([]string{"EVAL", script, "0"}, args...)
	cmd := fmt.Sprintf("*%d\r\n", len(words))
	for _, w := range words {
		cmd += fmt.Sprintf("$%d\r\n%s\r\n", len(w), w)
	}
	if _, err := c.Write([]byte(cmd)); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if rest, ok := strings.CutPrefix(line, "-"); ok {
		return fmt.Errorf("redis: %s", strings.TrimSpace(rest))
	}
	return nil
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("redistest: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitListening(addr string, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return true
		}
		time.Sleep(2 * time.Millisecond) // waiting for a child process to listen, not for time to pass
	}
	return false
}

// String names the Redis for test logs.
func (s *Server) String() string { return fmt.Sprintf("%s redis at %s", s.Kind, s.Addr) }
