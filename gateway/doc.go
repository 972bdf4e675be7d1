// Package gateway is the application: it wires the engine
// (gateway/engine), the HTTP server (gateway/httpapi), the notifications
// (gateway/notify) and Redis (queue) together, and starts, reloads and
// stops them in a fixed order.
//
// Nothing imports gateway but cmd/gateway.
package gateway
