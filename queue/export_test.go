package queue

// DroppedLogs returns, by message, how many copies of asynq's lines were
// dropped since each was last logged.
func (t *Tasks) DroppedLogs() map[string]int {
	t.log.mu.Lock()
	defer t.log.mu.Unlock()
	out := map[string]int{}
	for msg, l := range t.log.seen {
		out[msg] = l.suppressed
	}
	return out
}
