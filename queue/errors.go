package queue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/redis/go-redis/v9"
)

// ErrUnavailable wraps every error that means Redis could not be reached
// or cannot serve right now: the same call may work later.
var ErrUnavailable = errors.New("redis unavailable")

// IsUnavailable reports whether err means Redis is unavailable: no
// connection (refused, reset, closed, a dial or read that timed out, a full
// pool, authentication failing when connecting), or a server that answers
// but cannot serve for now (LOADING, BUSY, CLUSTERDOWN, MASTERDOWN,
// TRYAGAIN, READONLY, NOREPLICAS, OOM, MISCONF, too many clients, and
// MOVED or ASK, which a cluster node answers a write sent to it directly
// while a failover or resharding moves the slot). A
// command or script that Redis rejected (a wrong argument such as "invalid
// expire time", a Lua error) is not: retrying it fails the same way.
// A cancelled context is not either. Every error this package returns for
// an unavailable Redis wraps ErrUnavailable.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrUnavailable) {
		return true
	}
	var rerr redis.Error
	if errors.As(err, &rerr) {
		return redis.IsLoadingError(err) || redis.IsClusterDownError(err) || redis.IsMasterDownError(err) ||
			redis.IsTryAgainError(err) || redis.IsReadOnlyError(err) || redis.IsNoReplicasError(err) ||
			redis.IsMaxClientsError(err) || redis.IsOOMError(err) || redis.IsAuthError(err) ||
			redis.HasErrorPrefix(err, "BUSY") || redis.HasErrorPrefix(err, "MISCONF") ||
			redis.HasErrorPrefix(err, "MOVED") || redis.HasErrorPrefix(err, "ASK")
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	var nerr net.Error
	return errors.As(err, &nerr) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, redis.ErrPoolTimeout) || errors.Is(err, redis.ErrPoolExhausted) || errors.Is(err, redis.ErrClosed)
}

// unavailable wraps the errors IsUnavailable recognises in ErrUnavailable
// and returns the others as they are; nil and redis.Nil become nil.
func unavailable(err error) error {
	if err == nil || errors.Is(err, redis.Nil) {
		return nil
	}
	if IsUnavailable(err) && !errors.Is(err, ErrUnavailable) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// ErrLockLost means the caller no longer holds a conversation's
// processing lock: it expired, and another worker may have taken the
// conversation. The caller stops; the new holder handles what is left.
var ErrLockLost = errors.New("processing lock no longer held")

// ErrEventGone means the inbox event a write consumes is no longer in the
// inbox: another worker handled it (or the conversation was erased).
var ErrEventGone = errors.New("event no longer in the inbox")

// StaleError is a write refused because the caller acts on a view that is
// no longer true. Err is ErrLockLost or ErrEventGone (errors.Is works).
type StaleError struct {
	Conversation string
	Event        string // the inbox event concerned; "" when none
	Err          error
}

func (e *StaleError) Error() string {
	if e.Event != "" {
		return fmt.Sprintf("conversation %s, event %s: %v", e.Conversation, e.Event, e.Err)
	}
	return fmt.Sprintf("conversation %s: %v", e.Conversation, e.Err)
}

func (e *StaleError) Unwrap() error { return e.Err }
