package try

import (
	"context"
	"fmt"
	"net/http"

	"switchboard/gateway/engine"
)

// The messaging window's agent commands: /missed lists the channel's
// missed list, /template NAME re-engages the conversation by template,
// /takeover takes it from the bot.

// windowCommand runs cmd when it is one of the window's commands and
// reports whether it was.
func (s *trySession) windowCommand(ctx context.Context, cmd, arg string) (bool, error) {
	switch cmd {
	case "/missed":
		return true, s.showMissed(ctx)
	case "/template":
		if arg == "" {
			return true, fmt.Errorf("usage: /template NAME (the channel's templates: %s)", s.templateNames())
		}
		var c engine.ConversationView
		if _, err := s.api(ctx, http.MethodPost, "/api/v1/conversations/"+s.convID+"/template", map[string]string{"template": arg}, &c); err != nil {
			return true, err
		}
		fmt.Fprintf(s.out, "-- template %s sent; %s holds the conversation; free text waits for the user's answer\n", arg, s.agent.ID)
		return true, s.settle(ctx)
	case "/takeover":
		if _, err := s.api(ctx, http.MethodPost, "/api/v1/conversations/"+s.convID+"/takeover", nil, nil); err != nil {
			return true, err
		}
		return true, s.settle(ctx)
	}
	return false, nil
}

func (s *trySession) templateNames() string {
	names := ""
	for i, t := range s.ch.Templates {
		if i > 0 {
			names += ", "
		}
		names += t.Name
	}
	if names == "" {
		return "none"
	}
	return names
}

// showMissed prints the channel's missed list through the agent API.
func (s *trySession) showMissed(ctx context.Context) error {
	var body struct {
		Conversations []engine.ConversationView `json:"conversations"`
	}
	if _, err := s.api(ctx, http.MethodGet, "/api/v1/conversations?state=missed&channel="+s.ch.ID, nil, &body); err != nil {
		return err
	}
	if len(body.Conversations) == 0 {
		fmt.Fprintf(s.out, "-- nobody is in the missed list of %s\n", s.ch.ID)
		return nil
	}
	fmt.Fprintf(s.out, "-- missed on %s (expired while waiting):\n", s.ch.ID)
	for i, c := range body.Conversations {
		fmt.Fprintf(s.out, "   %d. %s %s\n", i+1, c.ID, c.User.Name)
	}
	return nil
}
