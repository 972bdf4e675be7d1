package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"switchboard/channels/meta"
)

// Floor is the least a webhook endpoint can do, to measure the gateway
// against in the same run: read the body through the same 4 MiB limit,
// verify the signature, decode the JSON, make one Redis write, answer 200.
// Its keys expire after a minute.
type Floor struct {
	URL     string
	srv     *http.Server
	rdb     *redis.Client
	secrets map[string][]string // by platform
	n       atomic.Int64
}

// StartFloor serves the floor handler on a free loopback port, writing to
// the Redis at redisURL with the gateway's pool size.
func StartFloor(redisURL string, chans []Channel) (*Floor, error) {
	if err := checkLoopback(hostOfURL(redisURL)); err != nil {
		return nil, err
	}
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		return nil, err
	}
	opt.PoolSize = 64
	f := &Floor{rdb: redis.NewClient(opt), secrets: map[string][]string{}}
	for _, ch := range chans {
		f.secrets[ch.Platform] = append(f.secrets[ch.Platform], ch.Secret)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := f.rdb.Ping(ctx).Err(); err != nil {
		f.rdb.Close()
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.rdb.Close()
		return nil, err
	}
	f.URL = "http://" + l.Addr().String()
	f.srv = &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := f.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			panic(err)
		}
	}()
	return f, nil
}

// signedWebhook reads a webhook's platform and body and checks its
// signature against the platform's secrets, as the gateway does; when it
// answers the request itself (not a webhook, a bad body or signature), ok
// is false.
func signedWebhook(w http.ResponseWriter, r *http.Request, secrets map[string][]string) (platform string, body []byte, ok bool) {
	platform, ok = strings.CutPrefix(r.URL.Path, "/webhooks/")
	if !ok || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return "", nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4<<20))
	if err != nil {
		http.Error(w, "body", http.StatusBadRequest)
		return "", nil, false
	}
	if !meta.VerifySignature(body, r.Header.Get(meta.SignatureHeader), secrets[platform]...) {
		http.Error(w, "signature", http.StatusUnauthorized)
		return "", nil, false
	}
	return platform, body, true
}

func (f *Floor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, body, ok := signedWebhook(w, r, f.secrets)
	if !ok {
		return
	}
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		http.Error(w, "json", http.StatusBadRequest)
		return
	}
	key := "lt:floor:" + strconv.FormatInt(f.n.Add(1), 10)
	if err := f.rdb.Set(r.Context(), key, body, time.Minute).Err(); err != nil {
		http.Error(w, "redis", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// Close stops the server and its Redis client.
func (f *Floor) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return errors.Join(f.srv.Shutdown(ctx), f.rdb.Close())
}
