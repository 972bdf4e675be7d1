package loadtest

import (
	"fmt"
	"net"

	"switchboard/internal/testkit"
)

// StartGraph runs testkit's fake Graph API on addr (a loopback host:port)
// until it is closed. It only counts: the exactly-once check and the
// end-to-end latency need no more than each recipient's arrival times, and
// the fake must stay cheap while the gateway is under load.
func StartGraph(addr string) (*testkit.Graph, error) {
	if err := checkLoopback(addr); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("fake graph API: %w", err)
	}
	return testkit.StartGraph(testkit.CountOnly(), testkit.Listener(l)), nil
}
