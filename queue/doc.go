// Package queue is everything the gateway keeps in Redis: conversations and
// their transcripts, the per-channel waiting lines, deduplication of inbound
// events, per-conversation inboxes, the inactivity index, session records,
// the agents' event stream, the agents' inbox (conversation indexes by last
// activity, unread counts, transcript pages), the console's sign-in
// sessions and rate counters, and the asynq tasks and schedules that do the
// durable work.
//
// It is the only package that imports go-redis and asynq; their types never
// leave it. Every key starts with the configured prefix and carries a hash tag
// ({channel}) so that what one Lua script touches lives in one cluster slot;
// keys that are only ever touched alone (presence, sessions, rate counters)
// need none.
// It imports channels and routing (for the types it stores), nothing else of
// this module.
package queue
