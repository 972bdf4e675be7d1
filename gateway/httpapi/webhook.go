package httpapi

import (
	"errors"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"switchboard/channels"
	"switchboard/channels/instagram"
	"switchboard/channels/messenger"
	"switchboard/channels/meta"
	"switchboard/channels/whatsapp"
	"switchboard/gateway/engine"
	"switchboard/queue"
)

// maxWebhookBody is the webhook body limit; WhatsApp sends at most 3 MB.
const maxWebhookBody = 4 << 20

// parsers is the webhook parser of each platform.
var parsers = map[channels.Platform]channels.Parser{
	channels.WhatsApp:  whatsapp.NewParser(),
	channels.Messenger: messenger.NewParser(),
	channels.Instagram: instagram.NewParser(),
}

// handshake answers Meta's verification request (hub.mode, hub.verify_token,
// hub.challenge).
func (s *Server) handshake(c echo.Context) error {
	p := channels.Platform(c.Param("platform"))
	if !p.Valid() {
		return errUnknownPlatform
	}
	challenge, ok := meta.Handshake(c.QueryParams(), s.engine.Accounts(p).VerifyTokens...)
	if !ok {
		return c.JSON(http.StatusForbidden, errorBody("forbidden", "verify token does not match"))
	}
	return c.String(http.StatusOK, challenge)
}

// webhook accepts Meta's signed events: read through the size limit, verify
// the signature over the raw bytes, parse, and make every event durable
// before answering 200. Redis unreachable: 503, so Meta retries.
func (s *Server) webhook(c echo.Context) error {
	p := channels.Platform(c.Param("platform"))
	parser, ok := parsers[p]
	if !ok {
		return errUnknownPlatform
	}
	s.metrics.webhooksReceived.WithLabelValues(string(p)).Inc()
	reject := func(reason string, err error) error {
		s.metrics.webhooksRejected.WithLabelValues(string(p), reason).Inc()
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, maxWebhookBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return reject("too_large", errTooLarge)
		}
		if isBodyTimeout(err) {
			return reject("body_timeout", s.errBodyTimeout())
		}
		return reject("read_error", errBadRequest("body could not be read"))
	}
	accounts := s.engine.Accounts(p)
	secret, ok := meta.MatchSecret(body, c.Request().Header.Get("X-Hub-Signature-256"), accounts.Secrets...)
	if !ok {
		return reject("signature", errBadSignature)
	}
	events, err := parser.Parse(body)
	if err != nil {
		return reject("malformed", errBadRequest(err.Error()))
	}
	for i := range events {
		ev := &events[i]
		ch, ok := accounts.Channels[ev.Account]
		if !ok {
			s.unknownAccount(p, ev.Account)
			continue
		}
		if !accounts.SignedBy(ch, secret) {
			// A capture of one app's signed delivery cannot speak for
			// another app's account: the entry is dropped, the rest kept.
			s.metrics.entriesDropped.WithLabelValues(string(p), "channel_secret").Inc()
			s.log.WarnContext(c.Request().Context(), "webhook event signed with another channel's app secret; dropped",
				"platform", p, "channel", ch, "event_hash", engine.LogID(ev.ID))
			continue
		}
		ev.Channel = ch
		if ev.User.ID == "" {
			// Account-level notices (WhatsApp value.errors[]) have no conversation.
			s.log.Warn("platform error notice", "channel", ch, "event_hash", engine.LogID(ev.ID), "errors", ev.Errors)
			continue
		}
		res, err := s.engine.Ingest(c.Request().Context(), ev)
		if err != nil && !queue.IsUnavailable(err) {
			// Redis answered with an error (a script refused the write): a
			// retry would fail the same way, so this is ours to fix, not
			// Meta's to retry.
			s.log.Error("event not stored: Redis refused the write", "channel", ch, "event_hash", engine.LogID(ev.ID), "err", err)
			return reject("storage_error", errInternal)
		}
		if err != nil {
			s.log.Error("event not stored; answering 503 so Meta retries", "channel", ch, "event_hash", engine.LogID(ev.ID), "err", err)
			return reject("unavailable", errUnavailable)
		}
		if res != queue.AcceptedNew { // a redelivery, processed or still in the inbox
			s.metrics.duplicates.WithLabelValues(string(p)).Inc()
		}
	}
	return c.NoContent(http.StatusOK)
}

// unknownAccount counts events for an account no channel has, logging each
// account once: a non-200 would make Meta retry for days.
func (s *Server) unknownAccount(p channels.Platform, account string) {
	s.metrics.unknownAccounts.WithLabelValues(string(p)).Inc()
	if _, seen := s.unknownSeen.LoadOrStore(string(p)+"/"+account, true); !seen {
		s.log.Warn("webhook for an account no channel has; answered 200 and dropped", "platform", p, "account", account)
	}
}
