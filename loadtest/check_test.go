package loadtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"switchboard/internal/testkit"
)

// The check tells a reply sent again (the same message: the ref of an
// earlier reply) from a duplicate (a distinct reply more than the
// deliveries), and allows only as many replies sent again as the run says.
func TestCheckTellsAReplySentAgainFromADuplicate(t *testing.T) {
	ch := Channel{ID: "lt-wa", Platform: "whatsapp", Account: "106540352242922", Secret: "wa-secret"}
	for _, allowed := range []int{0, 2} {
		t.Run(fmt.Sprintf("%d allowed", allowed), func(t *testing.T) {
			graph := testkit.NewGraph(t, testkit.CountOnly())
			var (
				mu      sync.Mutex
				replies = map[string]int{} // by user
				r       *Runner
			)
			from := regexp.MustCompile(`"from":"([0-9]+)","id":"([^"]+)"`)
			// A gateway that answers each message once, but user 0's second
			// reply goes twice with its ref, and user 1 gets an extra reply.
			gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				body, _ := io.ReadAll(req.Body)
				m := from.FindStringSubmatch(string(body))
				if m == nil {
					http.Error(w, "no sender", http.StatusBadRequest)
					return
				}
				user, ref := m[1], m[2]
				send := func(ref string) {
					b := fmt.Sprintf(`{"messaging_product":"whatsapp","to":%q,"type":"text","text":{"body":"hi"},"biz_opaque_callback_data":%q}`, user, ref)
					resp, err := http.Post(graph.URL+"/"+ch.Account+"/messages", "application/json", strings.NewReader(b))
					if err == nil {
						resp.Body.Close()
					}
				}
				mu.Lock()
				replies[user]++
				n := replies[user]
				mu.Unlock()
				send(ref)
				switch {
				case user == r.uid(0) && n == 2:
					send(ref)
				case user == r.uid(1) && n == 1:
					send(ref + "-extra")
				}
			}))
			defer gw.Close()
			var err error
			r, err = NewRunner(RunOptions{Targets: []string{gw.URL}, Users: 3, Count: 9, Concurrency: 1,
				Progress: io.Discard, SentAgainAllowed: allowed}, []Channel{ch}, graph)
			if err != nil {
				t.Fatal(err)
			}
			res := r.Run(context.Background())
			c := res.Check
			if c.SentAgain != 1 || c.Duplicated != 1 || c.Lost != 0 || c.Allowed != allowed || c.OK() {
				t.Fatalf("check %+v (OK %v), want 1 sent again, 1 duplicated, none lost: not OK", c, c.OK())
			}
			if v := res.ExactlyOnce(); v.Met || !strings.Contains(v.Measured, "sent again 1") {
				t.Errorf("verdict %+v", v)
			}
			// Without the extra distinct reply, what is left is the reply sent again.
			c.Duplicated = 0
			if c.OK() != (allowed >= 1) {
				t.Errorf("check %+v: OK %v with %d allowed", c, c.OK(), allowed)
			}
		})
	}
}
