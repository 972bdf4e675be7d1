package redistest

import (
	"context"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
)

// Client is a client of s's kind (a Cluster's, a Sentinel set's master's,
// or a single server's), closed when the test ends: for tests that look
// at the keys themselves.
func (s *Server) Client() redis.UniversalClient {
	var c redis.UniversalClient
	switch s.Kind {
	case "cluster":
		c = redis.NewClusterClient(&redis.ClusterOptions{Addrs: s.Cluster})
	case "sentinel":
		c = redis.NewFailoverClient(&redis.FailoverOptions{MasterName: SentinelMaster, SentinelAddrs: s.SentinelAddrs})
	default:
		c = redis.NewClient(&redis.Options{Addr: s.Addr})
	}
	s.t.Cleanup(func() { c.Close() })
	return c
}

// Keys lists the keys that match pattern, on every master of a Cluster.
func Keys(t testing.TB, rdb redis.UniversalClient, pattern string) []string {
	t.Helper()
	scan := func(ctx context.Context, c redis.Cmdable) ([]string, error) {
		var keys []string
		iter := c.Scan(ctx, 0, pattern, 100).Iterator()
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		return keys, iter.Err()
	}
	cc, ok := rdb.(*redis.ClusterClient)
	if !ok {
		keys, err := scan(context.Background(), rdb)
		if err != nil {
			t.Fatal(err)
		}
		return keys
	}
	var mu sync.Mutex
	var keys []string
	err := cc.ForEachMaster(context.Background(), func(ctx context.Context, m *redis.Client) error {
		k, err := scan(ctx, m)
		mu.Lock()
		keys = append(keys, k...)
		mu.Unlock()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}
