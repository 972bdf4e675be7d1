// Package gateway is the application: the echo HTTP server (Meta webhooks,
// the agent API, the admin API, health and metrics) and the engine that turns
// inbound events into routing decisions and carries out their effects.
//
// It wires the other packages together: config, channels and its adapters,
// routing, bots and queue. echo's types never leave this package. Nothing
// imports gateway but cmd/gateway.
package gateway
