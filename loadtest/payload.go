package loadtest

import (
	"fmt"
	"time"

	"switchboard/channels"
	"switchboard/internal/testkit"
)

// delivery is one signed webhook: what Meta would POST for one user message.
type delivery struct {
	user    int // index of the simulated user
	seq     int // the user's message number, from 1
	webhook testkit.Signed
}

// userID is the platform id of simulated user i in run r: digits only (a
// WhatsApp wa_id), different for every run so runs never share a conversation.
func userID(platform string, run, i int) string {
	prefix := map[string]string{"whatsapp": "55", "messenger": "70", "instagram": "90"}[platform]
	return fmt.Sprintf("%s%05d%08d", prefix, run%100000, i)
}

// newDelivery builds user u's seq-th text message on ch. Its event id
// depends only on the user and seq, so a replay is a redelivery.
func newDelivery(ch Channel, run, u, seq int, text string, now time.Time) delivery {
	uid := userID(ch.Platform, run, u)
	p := channels.Platform(ch.Platform)
	in := testkit.Inbound{ID: fmt.Sprintf("m_LT%s%06d", uid, seq), From: uid, Name: fmt.Sprintf("Load User %d", u), At: now, Text: text}
	if p == channels.WhatsApp {
		in.ID = fmt.Sprintf("wamid.LT%s%06d", uid, seq)
	}
	return delivery{user: u, seq: seq, webhook: testkit.Sign(p, testkit.Message(p, ch.Account, in), ch.Secret)}
}
