package httpapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

// The body deadline is lifted once the body is read: a handler that then
// works longer than BodyTimeout is not cancelled. (Showing that a deadline
// does not fire takes letting it pass.)
func TestBodyDeadlineLiftedAfterTheBody(t *testing.T) {
	limits, err := Limits{BodyTimeout: 200 * time.Millisecond}.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{limits: limits}
	e := echo.New()
	e.POST("/slow", func(c echo.Context) error {
		if _, err := io.ReadAll(c.Request().Body); err != nil {
			return err
		}
		select {
		case <-c.Request().Context().Done():
			return c.String(http.StatusOK, "cancelled")
		case <-time.After(3 * limits.BodyTimeout):
			return c.String(http.StatusOK, "finished")
		}
	}, s.bodyDeadline)
	srv := httptest.NewServer(e)
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/slow", "application/json", strings.NewReader(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(got) != "finished" {
		t.Errorf("handler working past BodyTimeout after reading its body was %s, want finished", got)
	}
}

func TestLimitsDefaultsAndErrors(t *testing.T) {
	l, err := Limits{}.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	want := Limits{MaxConnections: 2048, IdleTimeout: 2 * time.Minute, BodyTimeout: 10 * time.Second,
		MaxWebhookBodies: 16, WebhookWait: time.Second, MaxStreams: 1000, MaxStreamsPerAgent: 10, StreamBuffer: 256}
	if l != want {
		t.Errorf("defaults = %+v, want %+v", l, want)
	}
	if _, err := (Limits{MaxStreamsPerAgent: -1}).WithDefaults(); err == nil || !strings.Contains(err.Error(), "MaxStreamsPerAgent") {
		t.Errorf("a negative MaxStreamsPerAgent gave %v, want an error naming it", err)
	}
	if _, err := (Limits{BodyTimeout: -time.Second}).WithDefaults(); err == nil || !strings.Contains(err.Error(), "BodyTimeout") {
		t.Errorf("a negative BodyTimeout gave %v, want an error naming it", err)
	}
	if _, err := (Limits{MaxConnections: 100, MaxStreams: 100}).WithDefaults(); err == nil || !strings.Contains(err.Error(), "MaxStreams") {
		t.Errorf("MaxStreams as high as MaxConnections gave %v, want an error naming both", err)
	}
}
