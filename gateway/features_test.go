package gateway

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"switchboard/internal/testkit"
)

// TestConsentShownOnceBeforeAnythingElse: a channel with a consent notice
// sends it first to a new conversation, and never again to it.
func TestConsentShownOnceBeforeAnythingElse(t *testing.T) {
	const consent = "MSG consent: we keep your number to answer you."
	o := newOpsHarness(t, "    consent: \""+consent+"\"\n", nil, nil)
	u := waUser{id: "5511900000030", name: "Consenting"}
	o.postOK("whatsapp", u.text("wamid.cs1", "what are your hours?", insideHours))
	o.waitSent(msgHours, 1)
	o.postOK("whatsapp", u.text("wamid.cs2", "hours", insideHours.Add(time.Minute)))
	o.waitSent(msgHours, 2)
	o.settle()
	var texts []string
	for _, s := range o.graph.To(u.id) {
		texts = append(texts, s.Text)
	}
	if len(texts) == 0 || texts[0] != consent {
		t.Fatalf("sends to the user = %q, want the consent notice first", texts)
	}
	if n := o.countSent(consent); n != 1 {
		t.Errorf("consent notice sent %d times, want once", n)
	}
}

// TestOfflineAgentMessageNotified: with on_offline_agent_message, a user
// message on a conversation held by an agent who is not online is
// notified; while the agent is online it is not.
func TestOfflineAgentMessageNotified(t *testing.T) {
	rcv := &receiver{}
	clock := testkit.NewClock(insideHours)
	srv := httptest.NewServer(rcv.handler("hook-secret-test-0123456789", clock.Now))
	defer srv.Close()
	o := newOpsHarness(t, "    notify:\n      on_offline_agent_message: true\n"+
		"      webhook: {url: \"${HOOK_URL}\", secret: hook-secret-test-0123456789}\n", map[string]string{"HOOK_URL": srv.URL}, nil)
	u := waUser{id: "5511900000031", name: "Held"}
	o.postOK("whatsapp", u.text("wamid.of1", "agent", insideHours))
	o.eventually("the waiting notification is delivered", func() bool { return rcv.delivered() == 1 })
	o.apiJSON(http.MethodPost, "/api/v1/queue/claim", anaToken, nil, http.StatusOK, nil)

	presence := func(status string) {
		o.apiJSON(http.MethodPut, "/api/v1/agents/me/presence", anaToken, map[string]string{"status": status}, http.StatusOK, nil)
	}
	// Each message comes a minute after the previous one; a notification's
	// "at" says which message it is about (its transcript is read when it
	// is delivered, so it may already hold later messages).
	steps := []struct{ presence, text string }{
		{"offline", "are you there?"},
		{"online", "hello again"},
		{"away", "still there?"},
	}
	for i, step := range steps {
		presence(step.presence)
		at := insideHours.Add(time.Duration(i+1) * time.Minute)
		o.setClock(at)
		o.postOK("whatsapp", u.text("wamid.of-"+step.presence, step.text, at))
		o.settle()
	}
	last := insideHours.Add(3 * time.Minute)
	// Notifications follow their messages: once the last one is in, the
	// one for "hello again" would have been too.
	o.eventually("the notification about the last message is delivered", func() bool {
		rcv.mu.Lock()
		defer rcv.mu.Unlock()
		for _, n := range rcv.got {
			if at, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(n["at"])); at.Equal(last) {
				return true
			}
		}
		return false
	})

	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	var got []string
	for _, n := range rcv.got {
		at, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(n["at"]))
		got = append(got, fmt.Sprintf("%s at +%s", n["event"], at.Sub(insideHours)))
	}
	slices.Sort(got)
	want := []string{"conversation.message_agent_offline at +1m0s", "conversation.message_agent_offline at +3m0s", "conversation.waiting at +0s"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("notifications = %q, want %q (none for the message while ana was online)", got, want)
	}
}

// TestHumanAgentTagWindow: on a Messenger channel with human_agent_tag an
// agent may reply up to 7 days after the user's last message, tagged
// HUMAN_AGENT after the first 24 hours; without the setting, 24 hours.
func TestHumanAgentTagWindow(t *testing.T) {
	for _, tagged := range []bool{true, false} {
		t.Run(fmt.Sprintf("human_agent_tag=%v", tagged), func(t *testing.T) {
			h := newHarness(t, harnessOptions{yaml: func(yaml string, _ map[string]string) string {
				if !tagged {
					return yaml
				}
				const anchor = "    access_token: fb-access-test-0123456789\n"
				return strings.Replace(yaml, anchor, anchor+"    human_agent_tag: true\n", 1)
			}})
			u := fbUser{psid: "7000000000000031"}
			h.postOK("messenger", u.message("m_HA1", "agent", "", insideHours))
			h.waitSent(msgTransferred, 1)
			h.apiJSON(http.MethodPost, "/api/v1/queue/claim?channel=fb-page", anaToken, nil, http.StatusOK, nil)
			path := "/api/v1/conversations/" + u.conv() + "/messages"

			h.apiJSON(http.MethodPost, path, anaToken, map[string]string{"text": "Within a day"}, http.StatusAccepted, nil)
			h.setClock(insideHours.Add(3 * 24 * time.Hour))
			if !tagged {
				h.wantError(http.MethodPost, path, anaToken, map[string]string{"text": "Three days on"}, http.StatusUnprocessableEntity, "window_closed")
				return
			}
			h.apiJSON(http.MethodPost, path, anaToken, map[string]string{"text": "Three days on"}, http.StatusAccepted, nil)
			h.waitSent("Three days on", 1)
			h.setClock(insideHours.Add(7*24*time.Hour + time.Minute))
			h.wantError(http.MethodPost, path, anaToken, map[string]string{"text": "Too late"}, http.StatusUnprocessableEntity, "window_closed")
			h.settle()

			for text, tag := range map[string]string{"Within a day": "", "Three days on": "HUMAN_AGENT"} {
				sends := h.requestsWith(text)
				if len(sends) != 1 || sends[0].Tag != tag {
					t.Errorf("%q sent as %+v, want once with tag %q", text, sends, tag)
				}
			}
			if n := len(h.requestsWith("Too late")); n != 0 {
				t.Errorf("a reply after 7 days reached the Graph API")
			}
		})
	}
}
