package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// redisBase is a configuration whose credentials pass the production
// checks, so that only the redis section's problems show.
const redisBase = `admin_token: admin-token-0123456789abcdef
channels:
  - id: wa
    type: whatsapp
    phone_number_id: "1"
    app_secret: wa-app-secret-0123456789abcdef
    verify_token: wa-verify-token-0123456789abcdef
    access_token: wa-access-token-0123456789abcdef
`

func TestRedisKinds(t *testing.T) {
	tests := []struct {
		name, yaml string
		kind       string   // when there is no problem
		want       []string // problems; empty: none
	}{
		{name: "embedded", yaml: "redis: {}\n", kind: "embedded"},
		{name: "url", yaml: "redis:\n  url: redis://cache:6379/0\n", kind: "url"},
		{name: "cluster", yaml: "redis:\n  cluster: [\"10.0.0.1:7000\", \"10.0.0.2:7000\"]\n  password: long-redis-password-0123\n  tls: true\n  wait_replicas: 1\n", kind: "cluster"},
		{name: "sentinel", yaml: "redis:\n  sentinel:\n    master: gateway\n    addrs: [\"h1:26379\", \"h2:26379\"]\n  username: gw\n", kind: "sentinel"},
		{name: "sentinel with its own credentials", yaml: "redis:\n  sentinel:\n    master: gateway\n    addrs: [\"h1:26379\"]\n    username: watcher\n    password: long-sentinel-password-0123\n", kind: "sentinel"},
		{
			name: "sentinel user without password",
			yaml: "redis:\n  sentinel:\n    master: gateway\n    addrs: [\"h1:26379\"]\n    username: watcher\n",
			want: []string{"redis.yaml:5: redis.sentinel.username: needs redis.sentinel.password: the Sentinels take a user with its password"},
		},
		{
			name: "sentinel credentials for a cluster",
			yaml: "redis:\n  cluster: [\"10.0.0.1:7000\"]\n  sentinel:\n    username: watcher\n    password: long-sentinel-password-0123\n",
			want: []string{
				"redis.yaml:4: redis.sentinel.username: set for no Sentinel set: it authenticates to the Sentinels of redis.sentinel.addrs",
				"redis.yaml:5: redis.sentinel.password: set for no Sentinel set: it authenticates to the Sentinels of redis.sentinel.addrs",
			},
		},
		{
			name: "two kinds",
			yaml: "redis:\n  url: redis://cache:6379/0\n  cluster: [\"10.0.0.1:7000\"]\n",
			want: []string{"redis.yaml:3: redis.cluster: set only one of redis.url, redis.cluster and redis.sentinel (redis.url is set too)"},
		},
		{
			name: "cluster and sentinel",
			yaml: "redis:\n  cluster: [\"10.0.0.1:7000\"]\n  sentinel: {master: m, addrs: [\"h:1\"]}\n",
			want: []string{"redis.yaml:3: redis.sentinel: set only one of redis.url, redis.cluster and redis.sentinel (redis.cluster is set too)"},
		},
		{
			name: "bad seeds",
			yaml: "redis:\n  cluster:\n    - 10.0.0.1:7000\n    - 10.0.0.2\n    - :7000\n    - h:70000\n",
			want: []string{
				`redis.yaml:4: redis.cluster: "10.0.0.2" is not host:port (such as 10.0.0.1:7000)`,
				`redis.yaml:5: redis.cluster: ":7000" is not host:port (such as 10.0.0.1:7000)`,
				`redis.yaml:6: redis.cluster: "h:70000" is not host:port (such as 10.0.0.1:7000)`,
			},
		},
		{
			name: "sentinel without master",
			yaml: "redis:\n  sentinel:\n    addrs:\n      - h1\n",
			want: []string{
				"redis.yaml:2: redis.sentinel.master: missing: the master's name in the Sentinels' configuration",
				`redis.yaml:4: redis.sentinel.addrs: "h1" is not host:port (such as 10.0.0.1:26379)`,
			},
		},
		{
			name: "sentinel without addrs",
			yaml: "redis:\n  sentinel:\n    master: gateway\n",
			want: []string{"redis.yaml:2: redis.sentinel.addrs: missing: at least one Sentinel's host:port"},
		},
		{
			name: "credentials with a url",
			yaml: "redis:\n  url: redis://cache:6379/0\n  username: gw\n  password: long-redis-password-0123\n  tls: true\n",
			want: []string{
				"redis.yaml:3: redis.username: the URL carries its own credentials and TLS (rediss://): set it there, or use redis.cluster or redis.sentinel",
				"redis.yaml:4: redis.password: the URL carries its own credentials and TLS (rediss://): set it there, or use redis.cluster or redis.sentinel",
				"redis.yaml:5: redis.tls: the URL carries its own credentials and TLS (rediss://): set it there, or use redis.cluster or redis.sentinel",
			},
		},
		{
			name: "embedded with replicas",
			yaml: "redis:\n  password: x\n  wait_replicas: 1\n",
			want: []string{
				"redis.yaml:2: redis.password: set for no Redis: set redis.cluster or redis.sentinel too (or leave it out for the embedded Redis)",
				"redis.yaml:3: redis.wait_replicas: the embedded Redis has no replicas: set redis.url, redis.cluster or redis.sentinel, or leave it at 0",
			},
		},
		{
			name: "wait bounds",
			yaml: "redis:\n  cluster: [\"h:1\"]\n  wait_replicas: 17\n  wait_timeout: 1ms\n",
			want: []string{
				"redis.yaml:3: redis.wait_replicas: 17 is above the maximum of 16",
				"redis.yaml:4: redis.wait_timeout: 1ms is below the minimum of 10ms (a webhook is answered while it waits)",
			},
		},
		{
			name: "negative replicas",
			yaml: "redis:\n  cluster: [\"h:1\"]\n  wait_replicas: -1\n",
			want: []string{"redis.yaml:3: redis.wait_replicas: -1 is below the minimum of 0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("redis.yaml", []byte(tt.yaml+redisBase), nil)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if got := cfg.Redis.Kind(); got != tt.kind {
					t.Errorf("Kind = %q, want %q", got, tt.kind)
				}
				if cfg.Redis.WaitTimeout != time.Second {
					t.Errorf("wait_timeout = %v, want the default 1s", cfg.Redis.WaitTimeout)
				}
				return
			}
			if diff := cmp.Diff(tt.want, problemLines(t, err)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRedisSummaryHidesPassword(t *testing.T) {
	cfg, err := Parse("redis.yaml", []byte("redis:\n  sentinel: {master: gw, addrs: [\"h1:26379\"], password: long-sentinel-password-0123}\n  password: long-redis-password-0123\n"+redisBase), nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.LogValue().String(); strings.Contains(s, "long-redis-password") || strings.Contains(s, "long-sentinel-password") || !strings.Contains(s, "sentinel gw@h1:26379") {
		t.Errorf("summary = %s", s)
	}
}

func TestRestartRequiredRedis(t *testing.T) {
	base, err := Parse("redis.yaml", []byte("redis:\n  cluster: [\"h:1\"]\n"+redisBase), nil)
	if err != nil {
		t.Fatal(err)
	}
	next := *base
	next.Redis.Cluster = []string{"h:1", "h:2"}
	next.Redis.Sentinel.Addrs = []string{"s:1"}
	next.Redis.Username, next.Redis.Password, next.Redis.TLS = "u", "p", true
	next.Redis.WaitReplicas, next.Redis.WaitTimeout = 1, 2*time.Second
	want := []string{"redis.cluster", "redis.sentinel", "redis.username", "redis.password", "redis.tls", "redis.wait_replicas", "redis.wait_timeout"}
	if diff := cmp.Diff(want, RestartRequired(base, &next)); diff != "" {
		t.Errorf("RestartRequired (-want +got):\n%s", diff)
	}
	// The Sentinels' own credentials too.
	sentinel := *base
	sentinel.Redis.Cluster, sentinel.Redis.Sentinel = nil, Sentinel{Master: "m", Addrs: []string{"s:1"}}
	changed := sentinel
	changed.Redis.Sentinel.Password = "p"
	if diff := cmp.Diff([]string{"redis.sentinel"}, RestartRequired(&sentinel, &changed)); diff != "" {
		t.Errorf("RestartRequired after a new Sentinel password (-want +got):\n%s", diff)
	}
}

func TestTLSFiles(t *testing.T) {
	tests := []struct{ yaml, want string }{
		{"tls:\n  cert_file: /x/cert.pem\n", "redis.yaml:1: tls.key_file: missing: tls.cert_file is set, and a certificate needs its key"},
		{"tls:\n  key_file: /x/key.pem\n", "redis.yaml:1: tls.cert_file: missing: tls.key_file is set, and a key needs its certificate"},
		{"tls:\n  cert_file: /nonexistent/cert.pem\n  key_file: /nonexistent/key.pem\n", "redis.yaml:2: tls.cert_file: cannot load the certificate and key: open /nonexistent/cert.pem: no such file or directory"},
	}
	for _, tt := range tests {
		_, err := Parse("redis.yaml", []byte(tt.yaml+redisBase), nil)
		if diff := cmp.Diff([]string{tt.want}, problemLines(t, err)); diff != "" {
			t.Errorf("problems (-want +got):\n%s", diff)
		}
	}
}
