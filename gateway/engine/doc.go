// Package engine runs the gateway's routing decisions. For each input (a
// user's message from a conversation's inbox, an agent's action, the
// sweep, a call provider's answer) it loads the conversation, asks routing
// what to do (and the bot, as often as routing says), commits the new state
// with every effect in one atomic step, and carries out what the commit
// leaves to do: count the outcomes routing decided, notify, send, queue
// call requests, signal automatic assignment. It never infers an outcome
// routing did not decide.
//
// Around that pipeline it runs the in-process workers that drain inboxes,
// the task handlers (process, send, notify, call), the periodic sweep,
// automatic assignment, claims and presence, and the runtime form of the
// configuration, swapped whole on reload.
//
// It depends on small interfaces it defines (store.go), which *queue.Store
// and *queue.Tasks satisfy, on routing, channels, bots and config, and on
// gateway/callprovider; never on HTTP (gateway/httpapi calls it).
//
// Files: engine.go (Engine, New, Start, Stop), store.go (what it needs of
// Redis), inbox.go (Ingest, Process), decide.go (apply: load, decide,
// commit), carryout.go (carryOut), send.go, notifications.go, call.go,
// processor.go, assign.go, sweep.go; agents.go, view.go, media.go,
// waiters.go, people.go (transfers, assignments, sign-in sessions) and
// upload.go (the agent API's operations), inboxlist.go (the agents'
// inbox: listing, unread and read receipts, typing, labels, canned
// responses, colleagues, transcript pages), admin.go (stats, report,
// erasure), figures.go (the agents' figures), inspect.go; loop.go (leaving
// the line, the return to the closing agent, satisfaction, Zendesk
// tickets, erasure on request); setup.go and channels.go (the runtime
// configuration), reload.go; errors.go, metrics.go, logctx.go.
package engine
