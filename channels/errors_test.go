package channels_test

import (
	"errors"
	"testing"

	"switchboard/channels"
)

func TestTemplateErrorWithoutName(t *testing.T) {
	for _, c := range []struct {
		err  channels.TemplateError
		want string
	}{
		{channels.TemplateError{Problem: channels.TemplateMissing, Code: 132001}, "the template does not exist in that language"},
		{channels.TemplateError{Problem: channels.TemplatePaused, Code: 132015}, "the template is paused for low quality and cannot be sent until it is active again"},
		{channels.TemplateError{Problem: channels.TemplateRefused, Code: 132007}, "the template was refused (code 132007)"},
	} {
		if got := c.err.Error(); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
	// Found through the SendError that carries it.
	se := &channels.SendError{Platform: channels.WhatsApp, Code: 132001, Reason: "template", Err: &channels.TemplateError{Problem: channels.TemplateMissing}}
	var te *channels.TemplateError
	if !errors.As(error(se), &te) || te.Problem != channels.TemplateMissing {
		t.Errorf("errors.As did not find the TemplateError in %v", se)
	}
}
