package queue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// Closing the loop: a satisfaction answer recorded on its agent session,
// and the erasure a user asks for, run as a task once the conversation's
// worker has let it go.

// taskErase erases what is held about the user of one conversation.
const taskErase = "contact:erase"

// csatScript records a satisfaction answer on an agent session: the
// session's record in the sessions stream is replaced by one that carries
// the score (streams are append-only), and the conversation's session
// index follows, so an erasure still finds it.
//
// KEYS[1] the conversation's hash, KEYS[2] the channel's sessions stream.
// ARGV[1] the session id, ARGV[2] the score.
// Returns 1 recorded, 0 the session is not (or no longer) there.
var csatScript = redis.NewScript(`
local index = redis.call('HGET', KEYS[1], 's')
if not index then return 0 end
local ids = {}
for sid in string.gmatch(index, '[^,]+') do table.insert(ids, sid) end
for i = #ids, 1, -1 do
  local r = redis.call('XRANGE', KEYS[2], ids[i], ids[i])
  if #r == 1 then
    local data = r[1][2][2]
    -- the short form (stateform.go): a mark, then short names
    local short = string.sub(data, 1, 1) == '2'
    if short then data = string.sub(data, 2) end
    local rec = cjson.decode(data)
    if (short and rec.i or rec.id) == ARGV[1] then
      if short then
        rec.c = tonumber(ARGV[2])
        data = '2' .. cjson.encode(rec)
      else
        rec.csat = tonumber(ARGV[2])
        data = cjson.encode(rec)
      end
      redis.call('XDEL', KEYS[2], ids[i])
      ids[i] = redis.call('XADD', KEYS[2], 'MAXLEN', '~', '1000000', '*', 'data', data)
      redis.call('HSET', KEYS[1], 's', table.concat(ids, ','))
      return 1
    end
  end
end
return 0
`)

// RecordCSAT records a satisfaction answer (the chosen choice's 1-based
// position) on the agent session sessionID of a conversation. It reports
// false when that session is not found (erased meanwhile).
func (s *Store) RecordCSAT(ctx context.Context, channel, convID, sessionID string, score int) (bool, error) {
	n, err := csatScript.Run(ctx, s.rdb, []string{s.keys.conv(channel, convID), s.keys.sessions(channel)}, sessionID, strconv.Itoa(score)).Int()
	if err != nil {
		return false, unavailable(err)
	}
	return n == 1, nil
}

// EnqueueErase queues the erasure of a conversation's user. The payload
// is the conversation id alone (a hash, never the user's id), the task id
// is derived from it so a request queued twice runs once, and the task
// is not kept once done.
func (t *Tasks) EnqueueErase(ctx context.Context, convID string) error {
	_, err := t.client.EnqueueContext(ctx, asynq.NewTask(taskErase, []byte(convID)),
		asynq.Queue(t.keys.taskQueue(queueInbound)), asynq.TaskID("erase:"+convID), asynq.MaxRetry(t.cfg.MaxSendAttempts-1),
		asynq.Timeout(2*time.Minute))
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return unavailable(err)
}

func eraseHandler(h func(context.Context, string) error) asynq.HandlerFunc {
	return func(ctx context.Context, task *asynq.Task) error {
		convID := string(task.Payload())
		if convID == "" {
			return Permanent(fmt.Errorf("erase task: no conversation"))
		}
		return h(ctx, convID)
	}
}
