// Package layers has no code: its test checks the import rules of
// docs/architecture.md over the whole module, so a forbidden import fails
// the build's tests instead of waiting for a review.
package layers
