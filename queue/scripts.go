package queue

import "github.com/redis/go-redis/v9"

// acceptScript records one inbound event in its conversation's inbox unless
// the event was seen before.
//
// KEYS[1] seen marker, KEYS[2] inbox (zset: event id -> order), KEYS[3] inbox
// payloads (hash), KEYS[4] the channel's arrival counter (breaks timestamp
// ties in arrival order), KEYS[5] the channel's pending set (conversation ->
// when its inbox last went from empty to not empty).
// ARGV[1] event id, ARGV[2] event time in ms, ARGV[3] payload, ARGV[4] dedupe
// TTL in ms, ARGV[5] conversation id, ARGV[6] now in ms, ARGV[7] "1" when a
// WAIT follows: a duplicate still waiting then renews its marker, a write
// that makes the WAIT cover the earlier delivery's writes too (replication
// is in order).
// Returns 1 (new), 2 (duplicate still waiting in the inbox), 0 (duplicate, done).
var acceptScript = redis.NewScript(`
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[4]) then
  local seq = redis.call('INCR', KEYS[4]) % 4096
  redis.call('ZADD', KEYS[2], tonumber(ARGV[2]) * 4096 + seq, ARGV[1])
  redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
  redis.call('ZADD', KEYS[5], 'NX', ARGV[6], ARGV[5])
  return 1
end
if redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  if ARGV[7] == '1' then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
  return 2
end
return 0
`)

// takeScript starts (or continues) draining a conversation's inbox in one
// round trip: it takes the processing lock, unless the caller holds it
// already, and reads the oldest events and the conversation.
//
// KEYS[1] lock, KEYS[2] inbox, KEYS[3] inbox payloads, KEYS[4] conversation
// hash, KEYS[5] conversation state.
// ARGV[1] holder token, ARGV[2] lock TTL in ms, ARGV[3] how many events,
// ARGV[4] "1" to take the lock, "0" when the caller holds it.
// Returns false when another worker holds the lock, else {version, data,
// id1, payload1, id2, payload2, ...} ("" for a missing conversation).
var takeScript = redis.NewScript(`
if ARGV[4] == '1' then
  if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
elseif redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return false
end
local out = {redis.call('HGET', KEYS[4], 'v') or '', redis.call('GET', KEYS[5]) or ''}
local ids = redis.call('ZRANGE', KEYS[2], 0, tonumber(ARGV[3]) - 1)
if #ids > 0 then
  local payloads = redis.call('HMGET', KEYS[3], unpack(ids))
  for i, id in ipairs(ids) do
    out[#out + 1] = id
    out[#out + 1] = payloads[i] or ''
  end
end
return out
`)

// releaseScript releases a conversation's processing lock, unless events
// arrived meanwhile: then the holder keeps it and drains again. This is what
// makes a task that found the lock taken safe to drop.
//
// KEYS[1] lock, KEYS[2] inbox, KEYS[3] pending set. ARGV[1] holder token,
// ARGV[2] lock TTL in ms, ARGV[3] conversation id.
// Returns 1 released, 0 kept (inbox not empty), -1 not the holder.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
if redis.call('ZCARD', KEYS[2]) > 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[3], ARGV[3])
return 1
`)

// commitScript applies one routing decision atomically: the conversation's
// new state (version-checked), its transcript entries, its place in the
// waiting line, its inactivity deadline, the inbox event it consumed, the
// sends it queued (outbox), the sessions it ended and the agents' notices.
//
// KEYS[1] conversation hash, KEYS[2] transcript, KEYS[3] line, KEYS[4]
// claiming, KEYS[5] deadlines, KEYS[6] inbox, KEYS[7] inbox payloads, KEYS[8]
// outbox, KEYS[9] sessions stream, KEYS[10] events stream, KEYS[11] assigned
// (conversation -> agent), KEYS[12] held (agent -> number of conversations
// assigned to it, kept in step with KEYS[11] so capacity checks cost one
// small read), KEYS[13] the conversation's state. KEYS[1] is the
// conversation's hash: its version, and (appended) the stream ids of the
// sessions it ends, for erasure.
// ARGV[1] expected version (0: must not exist), ARGV[2] a JSON object:
// {id, conv, line: "join"|"leave"|"", score, deadline (ms, 0 removes),
// ack, tx: [json], outbox: [[id, json]], sessions: [json], events: [json],
// agent, notify}.
// KEYS[14] the conversation's processing lock.
// ARGV[3] the caller's lock token: when not empty, the caller must hold the
// lock.
// Returns the new version; -1 when the version did not match, -2 when the
// caller does not hold the lock, -3 when the event to ack is no longer in the
// inbox (checked in this order: lock, event, version).
var commitScript = redis.NewScript(`
if ARGV[3] ~= '' and redis.call('GET', KEYS[14]) ~= ARGV[3] then return -2 end
local c = cjson.decode(ARGV[2])
if c.ack ~= '' and not redis.call('ZSCORE', KEYS[6], c.ack) then return -3 end
local cur = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if cur ~= tonumber(ARGV[1]) then return -1 end
redis.call('HSET', KEYS[1], 'v', cur + 1)
redis.call('SET', KEYS[13], c.conv)
for _, e in ipairs(c.tx) do redis.call('RPUSH', KEYS[2], e) end
if c.line == 'join' then
  redis.call('ZADD', KEYS[3], c.score, c.id)
  redis.call('ZREM', KEYS[4], c.id)
  if c.notify ~= '' then redis.call('PUBLISH', c.notify, c.channel) end
elseif c.line == 'leave' then
  redis.call('ZREM', KEYS[3], c.id)
  redis.call('ZREM', KEYS[4], c.id)
end
if c.deadline > 0 then
  redis.call('ZADD', KEYS[5], c.deadline, c.id)
else
  redis.call('ZREM', KEYS[5], c.id)
end
if c.ack ~= '' then
  redis.call('ZREM', KEYS[6], c.ack)
  redis.call('HDEL', KEYS[7], c.ack)
end
for _, o in ipairs(c.outbox) do redis.call('HSET', KEYS[8], o[1], o[2]) end
for _, s in ipairs(c.sessions) do
  local sid = redis.call('XADD', KEYS[9], 'MAXLEN', '~', '1000000', '*', 'data', s)
  local index = redis.call('HGET', KEYS[1], 's')
  if index then sid = index .. ',' .. sid end
  redis.call('HSET', KEYS[1], 's', sid)
end
for _, e in ipairs(c.events) do
  redis.call('XADD', KEYS[10], 'MAXLEN', '~', '10000', '*', 'data', e)
end
local prev = redis.call('HGET', KEYS[11], c.id)
if c.agent ~= '' then
  if prev ~= c.agent then
    redis.call('HSET', KEYS[11], c.id, c.agent)
    redis.call('HINCRBY', KEYS[12], c.agent, 1)
    if prev then redis.call('HINCRBY', KEYS[12], prev, -1) end
  end
elseif prev then
  redis.call('HDEL', KEYS[11], c.id)
  redis.call('HINCRBY', KEYS[12], prev, -1)
end
return cur + 1
`)

// renewScript extends a processing lock if the caller still holds it.
//
// KEYS[1] lock. ARGV[1] holder token, ARGV[2] lock TTL in ms.
// Returns 1 renewed, 0 not the holder.
var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`)

// recordScript appends transcript entries for an inbox event and removes
// the event, unless it is no longer in the inbox (another worker recorded
// it).
//
// KEYS[1] transcript, KEYS[2] inbox, KEYS[3] inbox payloads.
// ARGV[1] event id, ARGV[2..] entries (JSON).
// Returns 1 recorded, 0 the event was gone (nothing written).
var recordScript = redis.NewScript(`
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then return 0 end
for i = 2, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
return 1
`)

// claimScript takes the oldest conversation of a waiting line. It moves it
// to the claiming set (scored by the claim time) rather than dropping it, so
// that a gateway that dies before committing the claim does not lose it: the
// sweep puts stale claims back at their place.
//
// KEYS[1] line, KEYS[2] claiming. ARGV[1] now in ms.
// Returns {conversation id, place-in-line score} or false when the line is empty.
var claimScript = redis.NewScript(`
local r = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #r == 0 then return false end
redis.call('ZREM', KEYS[1], r[1])
redis.call('ZADD', KEYS[2], ARGV[1], r[1])
return r
`)

// deliveryScript moves a sent message's delivery status forward only:
// sent < delivered < read, failed terminal.
//
// KEYS[1] the conversation's hash. ARGV[1] the entry's delivery field, ARGV[2] status,
// ARGV[3] its rank, ARGV[4] detail (error text, may be empty).
// Returns 1 when it changed, 0 when ignored as a regression.
var deliveryScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local rank = tonumber(string.match(cur, '^(%d+)'))
  if rank >= 4 or rank >= tonumber(ARGV[3]) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3] .. '|' .. ARGV[2] .. '|' .. ARGV[4])
return 1
`)
