//go:build browser

package console_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"switchboard/gateway/console"
)

// entry is a transcript entry as the API shows it.
type entry struct {
	ID          string           `json:"id"`
	At          time.Time        `json:"at"`
	Author      string           `json:"author"`
	Agent       string           `json:"agent,omitempty"`
	Kind        string           `json:"kind"`
	Text        string           `json:"text,omitempty"`
	Delivery    string           `json:"delivery,omitempty"`
	Attachments []map[string]any `json:"attachments,omitempty"`
	Location    map[string]any   `json:"location,omitempty"`
}

// conv is a conversation as the API shows it.
type conv struct {
	ID           string            `json:"id"`
	Channel      string            `json:"channel"`
	Platform     string            `json:"platform"`
	User         map[string]string `json:"user"`
	State        string            `json:"state"`
	Position     int               `json:"position,omitempty"`
	WaitingSince *time.Time        `json:"waiting_since"`
	AssignedTo   *string           `json:"assigned_to"`
	LastMessage  map[string]any    `json:"last_message,omitempty"`
	LastActivity time.Time         `json:"last_activity"`
	Labels       []string          `json:"labels"`
	Unread       int               `json:"unread"`
	Missed       bool              `json:"missed"`
	Variables    map[string]string `json:"variables,omitempty"`
	Transcript   []entry           `json:"transcript,omitempty"`
	Notes        []entry           `json:"notes,omitempty"`
	Sessions     []map[string]any  `json:"sessions,omitempty"`
	Templates    []string          `json:"templates,omitempty"`
}

// fakeAPI is the agent API as the console expects it (see README.md), in
// memory: enough to drive the console in a browser without a gateway. Ana
// is an agent, Sue a supervisor; both sign in with the password "pw".
type fakeAPI struct {
	mu        sync.Mutex
	convs     map[string]*conv
	sessions  map[string]string // cookie -> agent
	subs      map[chan string]bool
	seq       int
	Replies   []string
	Notes     []string
	Requests  []string
	Presence  string
	Uploads   []string
	Templates []string
	Transfers []string
	connects  chan string // the Last-Event-ID of each event stream opened
}

// dropStreams ends the open event streams without ending the session.
func (f *fakeAPI) dropStreams() {
	f.mu.Lock()
	subs := f.subs
	f.subs = map[chan string]bool{}
	f.mu.Unlock()
	for ch := range subs {
		close(ch)
	}
}

func newFakeAPI() *fakeAPI {
	f := &fakeAPI{convs: map[string]*conv{}, sessions: map[string]string{}, subs: map[chan string]bool{}, Presence: "online", connects: make(chan string, 16)}
	base := time.Now().Add(-48 * time.Hour)
	for i := 0; i < 1000; i++ {
		id := fmt.Sprintf("wa-main:old%04d", i)
		f.convs[id] = &conv{ID: id, Channel: "wa-main", Platform: "whatsapp", User: map[string]string{"id": fmt.Sprint(5511000000 + i), "name": fmt.Sprintf("Old user %d", i)},
			State: "ended", LastActivity: base.Add(time.Duration(i) * time.Minute), Labels: []string{}, LastMessage: map[string]any{"text": "bye", "at": base}}
	}
	lastWrote := time.Now().Add(-30 * time.Hour)
	f.convs["wa-main:m1"] = &conv{ID: "wa-main:m1", Channel: "wa-main", Platform: "whatsapp", User: map[string]string{"id": "5511777", "name": "Carla Missed"},
		State: "ended", Missed: true, LastActivity: lastWrote, Labels: []string{}, LastMessage: map[string]any{"text": "anyone?", "at": lastWrote},
		Transcript: []entry{{ID: "u_m1", At: lastWrote, Author: "user", Kind: "text", Text: "anyone?"}}, Templates: []string{"follow_up"}}
	f.addWaiting("wa-main:c1", "Ana Souza", "agent")
	return f
}

func (f *fakeAPI) addWaiting(id, name, text string) {
	f.mu.Lock()
	now := time.Now()
	f.convs[id] = &conv{ID: id, Channel: "wa-main", Platform: "whatsapp", User: map[string]string{"id": "55119" + id[len(id)-1:], "name": name},
		State: "waiting", WaitingSince: &now, LastActivity: now, Labels: []string{}, Unread: 1,
		LastMessage: map[string]any{"text": text, "at": now}, Variables: map[string]string{"order": "A-17"},
		Transcript: []entry{{ID: "u_" + id, At: now.Add(-time.Second), Author: "user", Kind: "text", Text: text},
			{ID: "gw_t" + id, At: now, Author: "system", Kind: "message", Text: "Connecting you with an agent.", Delivery: "read"}},
		Sessions: []map[string]any{{"kind": "bot", "start": now.Add(-time.Minute), "end": now, "resolution": "transferred"}}}
	f.mu.Unlock()
	f.emit("conversation.waiting", id, "")
}

func (f *fakeAPI) userSays(id, text string) {
	f.mu.Lock()
	c := f.convs[id]
	now := time.Now()
	c.Transcript = append(c.Transcript, entry{ID: fmt.Sprintf("u_%d", now.UnixNano()), At: now, Author: "user", Kind: "text", Text: text})
	c.LastMessage = map[string]any{"text": text, "at": now}
	c.LastActivity = now
	c.Unread++
	f.mu.Unlock()
	f.emit("conversation.message", id, text)
}

func (f *fakeAPI) emit(name, id, text string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	data, _ := json.Marshal(map[string]any{"type": name, "channel": "wa-main", "conversation": id, "at": time.Now(), "text": text})
	msg := fmt.Sprintf("id: wa-main=%d-0\nevent: %s\ndata: %s\n\n", f.seq, name, data)
	for ch := range f.subs {
		select {
		case ch <- msg:
		default:
		}
	}
}

func (f *fakeAPI) expireSessions() {
	f.mu.Lock()
	f.sessions = map[string]string{}
	subs := f.subs
	f.subs = map[chan string]bool{}
	f.mu.Unlock()
	for ch := range subs {
		close(ch)
	}
}

// copyOf reads one of the recorded lists (Replies, Notes, Uploads...).
func (f *fakeAPI) copyOf(list *[]string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), *list...)
}

func (f *fakeAPI) count(prefix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.Requests {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

func jsonOut(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func errOut(w http.ResponseWriter, status int, code string) {
	jsonOut(w, status, map[string]any{"error": map[string]string{"code": code, "message": code}})
}

func (f *fakeAPI) positions() []*conv {
	var ws []*conv
	for _, c := range f.convs {
		if c.State == "waiting" {
			ws = append(ws, c)
		}
	}
	sort.Slice(ws, func(i, j int) bool { return ws[i].WaitingSince.Before(*ws[j].WaitingSince) })
	for i, c := range ws {
		c.Position = i + 1
	}
	return ws
}

func brief(c *conv) conv {
	b := *c
	b.Transcript, b.Notes, b.Sessions, b.Variables, b.Templates = nil, nil, nil, nil, nil
	return b
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/console") {
		console.Handler().ServeHTTP(w, r)
		return
	}
	f.mu.Lock()
	f.Requests = append(f.Requests, r.Method+" "+r.URL.RequestURI())
	f.mu.Unlock()
	p := r.URL.Path
	if p == "/api/v1/session" && r.Method == "POST" {
		var b map[string]string
		_ = json.NewDecoder(r.Body).Decode(&b)
		if b["password"] != "pw" || (b["agent"] != "ana" && b["agent"] != "sue") {
			errOut(w, 401, "unauthorized")
			return
		}
		tok := fmt.Sprint(time.Now().UnixNano())
		f.mu.Lock()
		f.sessions[tok] = b["agent"]
		f.mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "sb", Value: tok, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
		w.WriteHeader(204)
		return
	}
	ck, _ := r.Cookie("sb")
	f.mu.Lock()
	agent := ""
	if ck != nil {
		agent = f.sessions[ck.Value]
	}
	f.mu.Unlock()
	if agent == "" {
		errOut(w, 401, "unauthorized")
		return
	}
	if r.Method != "GET" && r.Header.Get("X-CSRF-Token") != "tok-"+agent {
		errOut(w, 403, "csrf")
		return
	}
	switch {
	case p == "/api/v1/session" && r.Method == "DELETE":
		w.WriteHeader(204)
	case p == "/api/v1/agents/me":
		role := "agent"
		if agent == "sue" {
			role = "supervisor"
		}
		f.mu.Lock()
		presence := f.Presence
		f.mu.Unlock()
		jsonOut(w, 200, map[string]any{"id": agent, "name": strings.ToUpper(agent[:1]) + agent[1:], "role": role, "channels": []string{"wa-main"}, "presence": presence, "csrf_token": "tok-" + agent, "labels": []string{"billing", "vip"}})
	case p == "/api/v1/agents/me/presence":
		var b map[string]string
		_ = json.NewDecoder(r.Body).Decode(&b)
		f.mu.Lock()
		f.Presence = b["status"]
		f.mu.Unlock()
		jsonOut(w, 200, b)
	case p == "/api/v1/agents":
		jsonOut(w, 200, map[string]any{"agents": []map[string]any{
			{"id": "ana", "name": "Ana", "role": "agent", "presence": "online", "open_conversations": 1, "max_conversations": 5, "channels": []string{"wa-main"}},
			{"id": "bob", "name": "Bob", "role": "agent", "presence": "away", "open_conversations": 0, "max_conversations": 5, "channels": []string{"wa-main"}},
			{"id": "sue", "name": "Sue", "role": "supervisor", "presence": "offline", "open_conversations": 0, "channels": []string{"wa-main"}}}})
	case p == "/api/v1/canned":
		jsonOut(w, 200, map[string]any{"canned_responses": []map[string]string{{"shortcut": "hours", "text": "We are open 9 to 18."}, {"shortcut": "thanks", "text": "Thank you, {user.name}!"}}})
	case p == "/api/v1/queue":
		f.mu.Lock()
		out := []conv{}
		for _, c := range f.positions() {
			out = append(out, brief(c))
		}
		f.mu.Unlock()
		jsonOut(w, 200, map[string]any{"conversations": out})
	case p == "/api/v1/queue/claim":
		f.mu.Lock()
		ws := f.positions()
		if len(ws) == 0 {
			f.mu.Unlock()
			w.WriteHeader(204)
			return
		}
		c := ws[0]
		c.State, c.AssignedTo, c.WaitingSince, c.Position = "assigned", &agent, nil, 0
		b := brief(c)
		f.mu.Unlock()
		f.emit("conversation.claimed", c.ID, "")
		jsonOut(w, 200, b)
	case p == "/api/v1/conversations":
		q := r.URL.Query()
		f.mu.Lock()
		var list []*conv
		for _, c := range f.convs {
			st := q.Get("state")
			if st == "missed" && !c.Missed || st != "" && st != "missed" && c.State != st {
				continue
			}
			if q.Get("assigned_to") == "me" && (c.AssignedTo == nil || *c.AssignedTo != agent) {
				continue
			}
			if s := q.Get("q"); s != "" && !strings.Contains(strings.ToLower(c.User["name"]), strings.ToLower(s)) {
				continue
			}
			list = append(list, c)
		}
		sort.Slice(list, func(i, j int) bool { return list[i].LastActivity.After(list[j].LastActivity) })
		start, _ := strconv.Atoi(q.Get("cursor"))
		limit, _ := strconv.Atoi(q.Get("limit"))
		if limit == 0 {
			limit = 50
		}
		end := min(start+limit, len(list))
		out := []conv{}
		for _, c := range list[start:end] {
			out = append(out, brief(c))
		}
		f.mu.Unlock()
		resp := map[string]any{"conversations": out}
		if end < len(list) {
			resp["next_cursor"] = strconv.Itoa(end)
		}
		jsonOut(w, 200, resp)
	case p == "/api/v1/events":
		select {
		case f.connects <- r.Header.Get("Last-Event-ID"):
		default:
		}
		ch := make(chan string, 100)
		f.mu.Lock()
		f.subs[ch] = true
		f.mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		fmt.Fprint(w, "retry: 200\n: connected\n\n")
		w.(http.Flusher).Flush()
		for {
			select {
			case msg, ok := <-ch:
				if !ok {
					return
				}
				fmt.Fprint(w, msg)
				w.(http.Flusher).Flush()
			case <-r.Context().Done():
				f.mu.Lock()
				delete(f.subs, ch)
				f.mu.Unlock()
				return
			}
		}
	case strings.HasPrefix(p, "/api/v1/conversations/"):
		parts := strings.Split(strings.TrimPrefix(p, "/api/v1/conversations/"), "/")
		f.mu.Lock()
		c := f.convs[parts[0]]
		f.mu.Unlock()
		if c == nil {
			errOut(w, 404, "not_found")
			return
		}
		if len(parts) > 1 && parts[1] != "" && r.Method == "GET" {
			errOut(w, 405, "method")
			return
		}
		action := ""
		if len(parts) > 1 {
			action = parts[1]
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		switch action {
		case "":
			f.positions()
			jsonOut(w, 200, c)
		case "messages":
			if c.Missed {
				errOut(w, 422, "window_closed")
				return
			}
			var b map[string]string
			_ = json.NewDecoder(r.Body).Decode(&b)
			f.Replies = append(f.Replies, b["text"])
			c.Transcript = append(c.Transcript, entry{ID: fmt.Sprintf("gw_%d", time.Now().UnixNano()), At: time.Now(), Author: "agent", Agent: agent, Kind: "message", Text: b["text"], Delivery: "sent"})
			jsonOut(w, 202, map[string]string{"status": "queued"})
		case "notes":
			var b map[string]string
			_ = json.NewDecoder(r.Body).Decode(&b)
			f.Notes = append(f.Notes, b["text"])
			c.Notes = append(c.Notes, entry{ID: fmt.Sprintf("gw_n%d", time.Now().UnixNano()), At: time.Now(), Author: "agent", Agent: agent, Kind: "note", Text: b["text"]})
			jsonOut(w, 201, c.Notes[len(c.Notes)-1])
		case "read":
			c.Unread = 0
			w.WriteHeader(204)
		case "attachments":
			if err := r.ParseMultipartForm(1 << 20); err != nil {
				errOut(w, 400, "bad_request")
				return
			}
			file, hdr, err := r.FormFile("file")
			if err != nil {
				errOut(w, 400, "no_file")
				return
			}
			file.Close()
			f.Uploads = append(f.Uploads, hdr.Filename+"|"+r.FormValue("caption"))
			c.Transcript = append(c.Transcript, entry{ID: fmt.Sprintf("gw_f%d", time.Now().UnixNano()), At: time.Now(), Author: "agent", Agent: agent, Kind: "message",
				Attachments: []map[string]any{{"type": "image", "url": "https://cdn.example/x.png", "caption": r.FormValue("caption")}}, Delivery: "delivered"})
			jsonOut(w, 202, map[string]string{"status": "queued"})
		case "transfer":
			var b map[string]string
			_ = json.NewDecoder(r.Body).Decode(&b)
			to := b["agent"]
			c.AssignedTo = &to
			f.Transfers = append(f.Transfers, to)
			jsonOut(w, 200, brief(c))
		case "template":
			var b map[string]string
			_ = json.NewDecoder(r.Body).Decode(&b)
			f.Templates = append(f.Templates, b["template"])
			c.State, c.AssignedTo = "assigned", &agent
			jsonOut(w, 200, brief(c))
		case "typing":
			w.WriteHeader(204)
		case "labels":
			var b struct{ Labels []string }
			_ = json.NewDecoder(r.Body).Decode(&b)
			c.Labels = b.Labels
			jsonOut(w, 200, brief(c))
		case "close":
			c.State = "ended"
			jsonOut(w, 200, brief(c))
		case "reopen":
			c.State = "assigned"
			c.AssignedTo = &agent
			jsonOut(w, 200, brief(c))
		default:
			errOut(w, 409, "not_assigned")
		}
	default:
		errOut(w, 404, "not_found")
	}
}
