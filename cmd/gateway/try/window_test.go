package try

import (
	"strings"
	"testing"
)

// TestTryMissedAndTemplate: the Saturday-night user waits, the clock moves
// past the expiry, the user is in the missed list, and a template
// re-engages them.
func TestTryMissedAndTemplate(t *testing.T) {
	script := strings.Join([]string{
		"agent", "1", "/advance 25h", "/missed", "/reply hello", "/template follow_up", "/state", "/missed", "/help",
	}, "\n")
	out := runTry(t, exampleConfig(t, false), "wa-main", "2026-11-21 22:00", script)
	assertInOrder(t, out,
		"-- conversation: asking → waiting\n",
		"you> /advance 25h\n",
		"-- conversation: waiting → ended\n",
		"you> /missed\n",
		"-- missed on wa-main (expired while waiting):\n   1. c_wa-main_",
		"you> /reply hello\n",
		"window_closed",
		"you> /template follow_up\n",
		"-- template follow_up sent; ana holds the conversation",
		"bot> [template] follow_up",
		"-- conversation: ended → assigned\n",
		"you> /missed\n",
		"-- nobody is in the missed list of wa-main\n",
		"/missed  /template NAME  /takeover",
	)
}
