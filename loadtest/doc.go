// Package loadtest drives a running gateway with correctly signed webhooks
// and measures it: accept throughput and latency, end-to-end latency up to
// the bot's reply reaching a fake Graph API the package runs itself, errors
// by status, the gateway's peak RSS, agent claims per second and Redis
// memory per waiting conversation. It also checks exactly-once processing:
// every delivery answered 200 must yield exactly one send to its user.
//
// It is a measuring tool, not part of the gateway: it imports config (to
// read the same YAML the gateway runs with), internal/testkit (the fake
// Graph API, in its count-only mode, and the signed webhooks), channels/meta
// (to verify in the floor handler) and queue (conversation ids, and the
// store the inbox benchmark seeds through), and, unlike
// the gateway's packages, go-redis directly for the floor handler's single
// write and for INFO memory. Every address it talks to must be a loopback one;
// every loop is bounded by a count and a deadline.
//
// cmd/loadtest is its command line; BENCHMARKS.md shows how it is run.
package loadtest
