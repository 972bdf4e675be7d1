package gateway

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/internal/testkit"
)

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	accepted atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted.Add(1)
	}
	return c, err
}

// Replies to many users at once reuse their connections to the Graph API:
// at most one per worker sending at the same time (8 in-process workers,
// 8 task workers), not one per send, which the default transport's two
// idle connections per host made of most sends under load.
func TestGraphSendsReuseConnections(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: l}
	graph := testkit.StartGraph(testkit.Listener(cl))
	defer graph.Close()
	h := newHarness(t, harnessOptions{graphURL: graph.URL})
	const users, workers = 120, 8
	// The fake answers sends in waves of workers calls, each call held
	// until its wave is complete (or 2 s passed), so that workers sends are
	// in flight together, as under load.
	var (
		mu      sync.Mutex
		arrived int
		wave    = make(chan struct{})
	)
	graph.Respond(func(int, testkit.Send) (int, string) {
		mu.Lock()
		mine := wave
		if arrived++; arrived == workers {
			close(wave)
			wave, arrived = make(chan struct{}), 0
		}
		mu.Unlock()
		select {
		case <-mine:
		case <-time.After(2 * time.Second):
		}
		return 0, ""
	})
	var wg sync.WaitGroup
	for i := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := waUser{fmt.Sprintf("55119%08d", i), fmt.Sprintf("User %d", i)}
			h.postOK("whatsapp", u.text(fmt.Sprintf("wamid.CONN%d", i), "hello", insideHours))
		}()
	}
	wg.Wait()
	h.eventually("every user got its reply", func() bool { return graph.Total() >= users })
	if n := cl.accepted.Load(); n > 2*workers {
		t.Errorf("the Graph API accepted %d connections for %d replies; want at most %d (one per concurrent sender)", n, users, 2*workers)
	}
	t.Logf("%d connections for %d replies", cl.accepted.Load(), graph.Total())
}
