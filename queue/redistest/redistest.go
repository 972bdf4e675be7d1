// Package redistest gives tests a Redis of their own: a real redis-server
// started on a free loopback port when the binary is on PATH, else an
// embedded miniredis. SWITCHBOARD_TEST_REDIS=server or =embedded forces one
// (server fails the test when the binary is missing).
//
// It is test support only: it imports miniredis and the standard library,
// nothing of this module.
package redistest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// EnvMode is the environment variable that forces the kind of Redis.
const EnvMode = "SWITCHBOARD_TEST_REDIS"

// Server is a Redis that lives as long as the test.
type Server struct {
	// Addr is host:port; URL is the same as a redis:// URL.
	Addr, URL string
	// Kind is "server" or "embedded".
	Kind string

	t    testing.TB
	port int
	cmd  *exec.Cmd
	mini *miniredis.Miniredis
}

// Start starts a Redis for t and stops it when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, Kind: mode(t)}
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
	switch os.Getenv(EnvMode) {
	case "embedded":
		return "embedded"
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
	if s.mini != nil {
		if err := s.mini.Restart(); err != nil {
			s.t.Fatalf("redistest: restart miniredis: %v", err)
		}
		return
	}
	s.startServer()
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
