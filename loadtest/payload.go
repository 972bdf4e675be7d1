package loadtest

import (
	"fmt"
	"strconv"
	"time"

	"switchboard/channels/meta"
)

// delivery is one signed webhook: what Meta would POST for one user message.
type delivery struct {
	user     int // index of the simulated user
	seq      int // the user's message number, from 1
	path     string
	body     []byte
	sig      string
	platform string
}

// userID is the platform id of simulated user i in run r: digits only (a
// WhatsApp wa_id), different for every run so runs never share a conversation.
func userID(platform string, run, i int) string {
	prefix := map[string]string{"whatsapp": "55", "messenger": "70", "instagram": "90"}[platform]
	return fmt.Sprintf("%s%05d%08d", prefix, run%100000, i)
}

// newDelivery builds user u's seq-th text message on ch.
func newDelivery(ch Channel, run, u, seq int, text string, now time.Time) delivery {
	uid := userID(ch.Platform, run, u)
	var body string
	switch ch.Platform {
	case "whatsapp":
		body = fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":`+
			`{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":%s},`+
			`"contacts":[{"profile":{"name":"Load User %d"},"wa_id":%s}],`+
			`"messages":[{"from":%s,"id":"wamid.LT%s%06d","timestamp":"%d","type":"text","text":{"body":%s}}]}}]}]}`,
			strconv.Quote(ch.Account), u, strconv.Quote(uid), strconv.Quote(uid), uid, seq, now.Unix(), strconv.Quote(text))
	default: // messenger and instagram share the Messenger Platform shape
		object := "page"
		if ch.Platform == "instagram" {
			object = "instagram"
		}
		ms := now.UnixMilli()
		body = fmt.Sprintf(`{"object":%q,"entry":[{"id":%s,"time":%d,"messaging":[{"sender":{"id":%s},"recipient":{"id":%s},`+
			`"timestamp":%d,"message":{"mid":"m_LT%s%06d","text":%s}}]}]}`,
			object, strconv.Quote(ch.Account), ms, strconv.Quote(uid), strconv.Quote(ch.Account), ms, uid, seq, strconv.Quote(text))
	}
	b := []byte(body)
	return delivery{user: u, seq: seq, path: "/webhooks/" + ch.Platform, body: b, sig: meta.Sign(b, ch.Secret), platform: ch.Platform}
}
