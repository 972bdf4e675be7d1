package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"switchboard/internal/testkit"
)

// E2EFloor is the least a gateway can do for a message from its webhook to
// the reply, in one process, to measure the gateway's end-to-end rate
// against in the same run. The webhook handler reads the body through the
// same 4 MiB limit, verifies the signature, decodes the JSON, makes one
// durable inbox write (RPUSH on the user's inbox list), hands the user to
// a worker and answers 200. A worker (as many as the gateway's
// engine.workers) takes the message and writes the user's state in one
// round trip (LPOP of the inbox and SET of the state, in MULTI), then
// posts the reply to its fake Graph API. Its keys expire after a minute or
// are emptied by the worker.
type E2EFloor struct {
	URL   string
	Graph *testkit.Graph // the replies arrive here

	srv     *http.Server
	rdb     *redis.Client
	secrets map[string][]string // by platform
	work    chan floorMsg
	client  *http.Client
	wg      sync.WaitGroup
	stop    chan struct{}
}

// floorMsg is what the webhook hands a worker: whom to answer, on which
// account and platform.
type floorMsg struct {
	platform, account, user, id string
}

// floorBody is what a floor decodes of a webhook: the first message of the
// first entry, in WhatsApp's or Messenger's and Instagram's shape.
type floorBody struct {
	Entry []struct {
		ID      string `json:"id"`
		Changes []struct {
			Value struct {
				Metadata struct {
					PhoneNumberID string `json:"phone_number_id"`
				} `json:"metadata"`
				Messages []struct {
					From string `json:"from"`
					ID   string `json:"id"`
					Text struct {
						Body string `json:"body"`
					} `json:"text"`
				} `json:"messages"`
			} `json:"value"`
		} `json:"changes"`
		Messaging []struct {
			Sender struct {
				ID string `json:"id"`
			} `json:"sender"`
			Message struct {
				Mid  string `json:"mid"`
				Text string `json:"text"`
			} `json:"message"`
		} `json:"messaging"`
	} `json:"entry"`
}

// message returns the body's first message, or ok false.
func (b *floorBody) message(platform string) (m floorMsg, text string, ok bool) {
	if len(b.Entry) == 0 {
		return m, "", false
	}
	e := b.Entry[0]
	m.platform = platform
	if len(e.Changes) > 0 && len(e.Changes[0].Value.Messages) > 0 {
		v := e.Changes[0].Value
		m.account, m.user, m.id, text = v.Metadata.PhoneNumberID, v.Messages[0].From, v.Messages[0].ID, v.Messages[0].Text.Body
	} else if len(e.Messaging) > 0 {
		m.account, m.user, m.id, text = e.ID, e.Messaging[0].Sender.ID, e.Messaging[0].Message.Mid, e.Messaging[0].Message.Text
	}
	return m, text, m.user != "" && m.id != ""
}

// StartE2EFloor serves the end-to-end floor on a free loopback port with
// workers workers, writing to the Redis at redisURL (a pool of 64 for the
// webhooks and one connection per worker, as the gateway), and starts the
// fake Graph API its workers post to, on another free loopback port.
func StartE2EFloor(redisURL string, chans []Channel, workers int) (*E2EFloor, error) {
	if err := checkLoopback(hostOfURL(redisURL)); err != nil {
		return nil, err
	}
	if workers <= 0 {
		workers = 64
	}
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		return nil, err
	}
	opt.PoolSize = 64 + workers
	graph, err := StartGraph("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &E2EFloor{Graph: graph, rdb: redis.NewClient(opt), secrets: map[string][]string{},
		work: make(chan floorMsg, 4096), stop: make(chan struct{}),
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil,
			MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}}}
	for _, ch := range chans {
		f.secrets[ch.Platform] = append(f.secrets[ch.Platform], ch.Secret)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := f.rdb.Ping(ctx).Err(); err != nil {
		f.rdb.Close()
		graph.Close()
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.rdb.Close()
		graph.Close()
		return nil, err
	}
	f.URL = "http://" + l.Addr().String()
	for range workers {
		f.wg.Add(1)
		go f.worker()
	}
	f.srv = &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := f.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			panic(err)
		}
	}()
	return f, nil
}

func floorInbox(user string) string { return "lt:floor:in:" + user }

func (f *E2EFloor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	platform, body, ok := signedWebhook(w, r, f.secrets)
	if !ok {
		return
	}
	var b floorBody
	if err := json.Unmarshal(body, &b); err != nil {
		http.Error(w, "json", http.StatusBadRequest)
		return
	}
	m, text, ok := b.message(platform)
	if !ok {
		w.WriteHeader(http.StatusOK) // nothing to answer
		return
	}
	if err := f.rdb.RPush(r.Context(), floorInbox(m.user), m.id+" "+text).Err(); err != nil {
		http.Error(w, "redis", http.StatusServiceUnavailable)
		return
	}
	select {
	case f.work <- m:
	case <-r.Context().Done():
		http.Error(w, "gone", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// worker takes messages until the floor closes: the take and the state
// write in one round trip, then the reply.
func (f *E2EFloor) worker() {
	defer f.wg.Done()
	ctx := context.Background()
	var buf bytes.Buffer
	for {
		var m floorMsg
		select {
		case m = <-f.work:
		case <-f.stop:
			return
		}
		_, err := f.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.LPop(ctx, floorInbox(m.user))
			p.Set(ctx, "lt:floor:st:"+m.user, m.id, time.Minute)
			return nil
		})
		if err != nil {
			continue // the message stays in its inbox; the run's check reports it lost
		}
		buf.Reset()
		if m.platform == "whatsapp" {
			fmt.Fprintf(&buf, `{"messaging_product":"whatsapp","to":%q,"type":"text","text":{"body":"floor reply"}}`, m.user)
		} else {
			fmt.Fprintf(&buf, `{"recipient":{"id":%q},"messaging_type":"RESPONSE","message":{"text":"floor reply"}}`, m.user)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.Graph.URL+"/v21.0/"+m.account+"/messages", bytes.NewReader(buf.Bytes()))
		if err != nil {
			continue
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer floor")
		if resp, err := f.client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
}

// Close stops the server, then the workers (after what was handed to them),
// the fake Graph API and the Redis client.
func (f *E2EFloor) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := f.srv.Shutdown(ctx)
	for deadline := time.Now().Add(10 * time.Second); len(f.work) > 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	close(f.stop)
	f.wg.Wait()
	f.client.CloseIdleConnections()
	f.Graph.Close()
	return errors.Join(err, f.rdb.Close())
}
