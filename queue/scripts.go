package queue

import "github.com/redis/go-redis/v9"

// acceptScript records one inbound event in its conversation's inbox unless
// the event was seen before; asked to, it also takes the conversation's
// processing lock for the caller when the event is new and the lock is
// free, and reads the batch as takeScript does: the webhook then hands the
// worker what it would have read first (one round trip less per message).
//
// KEYS[1] seen marker, KEYS[2] inbox (zset: event id -> order), KEYS[3] inbox
// payloads (hash), KEYS[4] the channel's arrival counter (breaks timestamp
// ties in arrival order), KEYS[5] the channel's pending set (conversation ->
// when its inbox last went from empty to not empty), KEYS[6] the
// conversation's processing lock, KEYS[7] its hash, KEYS[8] its state.
// ARGV[1] event id, ARGV[2] event time in ms, ARGV[3] payload, ARGV[4] dedupe
// TTL in ms, ARGV[5] conversation id, ARGV[6] now in ms, ARGV[7] "1" when a
// WAIT follows: a duplicate still waiting then renews its marker, a write
// that makes the WAIT cover the earlier delivery's writes too (replication
// is in order). ARGV[8] the lock token to take it under ("" not to take
// it), ARGV[9] the lock TTL in ms, ARGV[10] how many events to read.
// Returns 1 (new), 2 (duplicate still waiting in the inbox), 0 (duplicate,
// done), or, new with the lock taken, the batch as takeScript returns it
// but for this event's payload ("").
var acceptScript = redis.NewScript(batchReader + `
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[4]) then
  local seq = redis.call('INCR', KEYS[4]) % 4096
  redis.call('ZADD', KEYS[2], tonumber(ARGV[2]) * 4096 + seq, ARGV[1])
  redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
  redis.call('ZADD', KEYS[5], 'NX', ARGV[6], ARGV[5])
  if ARGV[8] ~= '' and redis.call('SET', KEYS[6], ARGV[8], 'NX', 'PX', ARGV[9]) then
    local out = readBatch(KEYS[7], KEYS[8], KEYS[2], KEYS[3], tonumber(ARGV[10]))
    -- The caller has this event already: its payload is not sent back.
    for i = 3, #out, 2 do
      if out[i] == ARGV[1] then out[i + 1] = '' end
    end
    return out
  end
  return 1
end
if redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  if ARGV[7] == '1' then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
  return 2
end
return 0
`)

// batchReader defines readBatch(conv, state, inbox, data, n): the
// conversation's version and state, then up to n of its oldest inbox
// events as id, payload pairs ("" for what is missing).
const batchReader = `
local function readBatch(conv, state, inbox, data, n)
  local out = {redis.call('HGET', conv, 'v') or '', redis.call('GET', state) or ''}
  local ids = redis.call('ZRANGE', inbox, 0, n - 1)
  if #ids > 0 then
    local payloads = redis.call('HMGET', data, unpack(ids))
    for i, id in ipairs(ids) do
      out[#out + 1] = id
      out[#out + 1] = payloads[i] or ''
    end
  end
  return out
end
`

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
var takeScript = redis.NewScript(batchReader + `
if ARGV[4] == '1' then
  if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
elseif redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return false
end
return readBatch(KEYS[4], KEYS[5], KEYS[2], KEYS[3], tonumber(ARGV[3]))
`)

// releaseScript releases a conversation's processing lock, unless events
// arrived meanwhile: then the holder keeps it and drains again. This is what
// makes a task that found the lock taken safe to drop. Handing back, the
// holder lets go whatever waits: it will not drain (the conversation stays
// in the pending set for whoever does).
//
// KEYS[1] lock, KEYS[2] inbox, KEYS[3] pending set. ARGV[1] holder token,
// ARGV[2] lock TTL in ms, ARGV[3] conversation id, ARGV[4] "1" to hand
// back.
// Returns 1 released, 0 kept (inbox not empty) or handed back, -1 not the
// holder.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
if redis.call('ZCARD', KEYS[2]) > 0 then
  if ARGV[4] == '1' then redis.call('DEL', KEYS[1]) else redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[3], ARGV[3])
return 1
`)

// commitScript applies one routing decision atomically: the conversation's
// new state (version-checked), its transcript entries, its place in the
// waiting line, the inbox event it consumed, the sends it queued (outbox),
// the sessions it ended and the agents' notices.
//
// KEYS[1] conversation hash, KEYS[2] transcript, KEYS[3] line, KEYS[4]
// claiming, KEYS[5] the deadlines set of earlier releases (read only: the
// sweep reads the state indexes; each commit takes its conversation out,
// so the set empties as conversations move), KEYS[6] inbox, KEYS[7] inbox payloads, KEYS[8]
// outbox, KEYS[9] sessions stream, KEYS[10] events stream, KEYS[11] assigned
// (conversation -> agent), KEYS[12] held (agent -> number of conversations
// assigned to it, kept in step with KEYS[11] so capacity checks cost one
// small read), KEYS[13] the conversation's state. KEYS[1] is the
// conversation's hash: its version, and (appended) the stream ids of the
// sessions it ends, for erasure.
// ARGV[1] expected version (0: must not exist), ARGV[2] a JSON object:
// {id, conv, line: "join"|"leave"|"", score,
// ack, tx: [json], outbox: [[id, json]], sessions: [json], events: [json],
// agent, notify}.
// KEYS[14] the conversation's processing lock, KEYS[15] its unread counts
// (agent -> count), KEYS[16] its transcript's known entry positions (entry
// id -> index); ARGV[2].ix: the inbox block's argument (indexArg).
// ARGV[2].daily, when present, adds to the channel's daily counts (keys
// under the channel's hash tag, named in it): counters, wait times.
// ARGV[3] the caller's lock token: when not empty, the caller must hold the
// lock. ARGV[2].applied, when not empty, is recorded in KEYS[1] (field "a")
// as the last commit applied; an event gone from the inbox because this
// very commit consumed it is a replay, not a conflict.
// Returns the new version; -1 when the version did not match, -2 when the
// caller does not hold the lock, -3 when the event to ack is no longer in the
// inbox, -4 when this commit was applied already (checked in this order:
// lock, event or replay, version).
var commitScript = redis.NewScript(`
if ARGV[3] ~= '' and redis.call('GET', KEYS[14]) ~= ARGV[3] then return -2 end
local c = cjson.decode(ARGV[2])
local old = redis.call('HMGET', KEYS[1], 'v', 'a', 'ix_state', 'ix_agent', 'ix_labels')
if c.ack ~= '' and not redis.call('ZSCORE', KEYS[6], c.ack) then
  if c.applied ~= '' and old[2] == c.applied then return -4 end
  return -3
end
local cur = tonumber(old[1] or '0')
if cur ~= tonumber(ARGV[1]) then return -1 end
redis.call('SET', KEYS[13], c.conv)
if #c.tx > 0 then redis.call('RPUSH', KEYS[2], unpack(c.tx)) end
if c.line == 'join' then
  redis.call('ZADD', KEYS[3], c.score, c.id)
  redis.call('ZREM', KEYS[4], c.id)
  if c.notify ~= '' then redis.call('PUBLISH', c.notify, c.channel) end
elseif c.line == 'leave' then
  redis.call('ZREM', KEYS[3], c.id)
  redis.call('ZREM', KEYS[4], c.id)
end
redis.call('ZREM', KEYS[5], c.id)
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
` + commitIndexBlock + `
local d = c.daily
if d and d.counts then
  for name, n in pairs(d.counts) do redis.call('HINCRBY', d.key, name, n) end
  redis.call('EXPIRE', d.key, d.ttl)
end
if d and d.waits then
  redis.call('RPUSH', d.wkey, unpack(d.waits))
  redis.call('EXPIRE', d.wkey, d.ttl)
end
return cur + 1
`)

// commitIndexBlock is the commit script's inbox part (queue/inboxlist.go):
// it moves the conversation between its channel's indexes (every key
// built from ix.prefix, under the channel's hash tag), counts the user's
// messages as unread for every agent with a count, and makes an ended
// conversation expire, with its unread counts and transcript positions
// (any other state keeps it).
const commitIndexBlock = `
local ix = c.ix
local p = ix.prefix
local labels = table.concat(ix.labels, ',')
if old[3] and old[3] ~= ix.state then redis.call('ZREM', p .. 'st:' .. old[3], c.id) end
if old[4] and old[4] ~= '' and old[4] ~= ix.agent then redis.call('ZREM', p .. 'ag:' .. old[4], c.id) end
if old[5] and old[5] ~= labels then
  for l in string.gmatch(old[5], '[^,]+') do redis.call('ZREM', p .. 'lb:' .. l, c.id) end
end
redis.call('ZADD', p .. 'all', ix.score, c.id)
redis.call('ZADD', p .. 'st:' .. ix.state, ix.score, c.id)
if ix.agent ~= '' then redis.call('ZADD', p .. 'ag:' .. ix.agent, ix.score, c.id) end
for _, l in ipairs(ix.labels) do redis.call('ZADD', p .. 'lb:' .. l, ix.score, c.id) end
local set = {'v', cur + 1, 'ix_state', ix.state}
local unset = {}
if c.applied ~= '' then set[#set + 1] = 'a'; set[#set + 1] = c.applied end
if ix.agent ~= '' then set[#set + 1] = 'ix_agent'; set[#set + 1] = ix.agent
elseif old[4] then unset[#unset + 1] = 'ix_agent' end
if labels ~= '' then set[#set + 1] = 'ix_labels'; set[#set + 1] = labels
elseif old[5] then unset[#unset + 1] = 'ix_labels' end
redis.call('HSET', KEYS[1], unpack(set))
if #unset > 0 then redis.call('HDEL', KEYS[1], unpack(unset)) end
if ix.agent ~= '' then redis.call('HSETNX', KEYS[15], ix.agent, 0) end
local unread = redis.call('HGETALL', KEYS[15])
for i = 1, #unread, 2 do
  local n = tonumber(unread[i + 1]) + ix.users
  if ix.users > 0 then redis.call('HSET', KEYS[15], unread[i], n) end
  if n > 0 then redis.call('ZADD', p .. 'un:' .. unread[i], ix.score, c.id) end
end
-- Only an ended conversation expires (and the positions a page recorded
-- follow its hash): the keys of any other have a TTL only when it was
-- ended before this commit.
if ix.ttl > 0 or redis.call('PTTL', KEYS[1]) > 0 then
  for _, k in ipairs({KEYS[1], KEYS[2], KEYS[13], KEYS[15], KEYS[16]}) do
    if ix.ttl > 0 then redis.call('PEXPIRE', k, ix.ttl) else redis.call('PERSIST', k) end
  end
end
`

// labelsScript stores a conversation's new labels, version-checked, and
// moves it between its channel's label indexes. The state keeps its expiry.
//
// KEYS[1] conversation hash, KEYS[2] conversation state.
// ARGV[1] expected version, ARGV[2] the new state (JSON), ARGV[3] the
// channel's index prefix, ARGV[4] the conversation's activity score,
// ARGV[5] the labels, comma-separated.
// Returns the new version, -1 when the version did not match.
var labelsScript = redis.NewScript(`
local cur = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if cur == 0 or cur ~= tonumber(ARGV[1]) then return -1 end
local id = string.match(KEYS[2], 'state:(.*)$')
local old = redis.call('HGET', KEYS[1], 'ix_labels')
if old then
  for l in string.gmatch(old, '[^,]+') do redis.call('ZREM', ARGV[3] .. 'lb:' .. l, id) end
end
for l in string.gmatch(ARGV[5], '[^,]+') do redis.call('ZADD', ARGV[3] .. 'lb:' .. l, ARGV[4], id) end
redis.call('SET', KEYS[2], ARGV[2], 'KEEPTTL')
redis.call('HSET', KEYS[1], 'v', cur + 1)
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'ix_labels', ARGV[5]) else redis.call('HDEL', KEYS[1], 'ix_labels') end
return cur + 1
`)

// backfillScript indexes a conversation that no commit has indexed yet
// (one stored before the indexes existed).
//
// KEYS[1] conversation hash. ARGV[1] the channel's index prefix, ARGV[2]
// activity score, ARGV[3] state, ARGV[4] assigned agent ("" for none),
// ARGV[5] labels, comma-separated.
// Returns 1 indexed, 0 already indexed.
var backfillScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], 'ix_state') == 1 then return 0 end
local id = string.match(KEYS[1], 'conv:(.*)$')
local p = ARGV[1]
redis.call('ZADD', p .. 'all', ARGV[2], id)
redis.call('ZADD', p .. 'st:' .. ARGV[3], ARGV[2], id)
if ARGV[4] ~= '' then redis.call('ZADD', p .. 'ag:' .. ARGV[4], ARGV[2], id) end
for l in string.gmatch(ARGV[5], '[^,]+') do redis.call('ZADD', p .. 'lb:' .. l, ARGV[2], id) end
redis.call('HSET', KEYS[1], 'ix_state', ARGV[3])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'ix_agent', ARGV[4]) end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'ix_labels', ARGV[5]) end
return 1
`)

// positionsScript records the positions of the transcript entries a page
// showed, with the conversation's expiry.
//
// KEYS[1] entry positions, KEYS[2] conversation hash. ARGV: pairs of entry
// id, position.
var positionsScript = redis.NewScript(`
redis.call('HSET', KEYS[1], unpack(ARGV))
local ttl = redis.call('PTTL', KEYS[2])
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
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

// claimScript takes the conversation that has waited longest among some
// waiting lines, after checking the claiming agent's capacity. It moves it
// to its line's claiming set (scored by the claim time) rather than
// dropping it, so that a gateway that dies before committing the claim does
// not lose it: the sweep puts stale claims back at their place.
//
// It also reads the conversation's version and state, which the claimer
// needs next (saving it a round trip); their keys are named from the line's
// key prefix, so they share the line's hash tag.
//
// KEYS: each line followed by its claiming set, then the held counts to
// add up. ARGV[1] now in ms, ARGV[2] the number of lines, ARGV[3] the
// agent, ARGV[4] the most it may hold (0: no check), then each line's key
// prefix (ending in "}:").
// Returns {conversation id, place-in-line score, version, state, which
// line (1-based)} ("" for what is missing), false when every line is
// empty, -1 when the agent holds its most conversations already.
var claimScript = redis.NewScript(`
local n, max = tonumber(ARGV[2]), tonumber(ARGV[4])
if max > 0 then
  local held = 0
  for i = 2 * n + 1, #KEYS do
    held = held + (tonumber(redis.call('HGET', KEYS[i], ARGV[3])) or 0)
  end
  if held >= max then return -1 end
end
local line, r
for i = 1, n do
  local h = redis.call('ZRANGE', KEYS[2 * i - 1], 0, 0, 'WITHSCORES')
  if #h > 0 and (r == nil or tonumber(h[2]) < tonumber(r[2])) then line, r = i, h end
end
if r == nil then return false end
redis.call('ZREM', KEYS[2 * line - 1], r[1])
redis.call('ZADD', KEYS[2 * line], ARGV[1], r[1])
local prefix = ARGV[4 + line]
r[3] = redis.call('HGET', prefix .. 'conv:' .. r[1], 'v') or ''
r[4] = redis.call('GET', prefix .. 'state:' .. r[1]) or ''
r[5] = tostring(line)
return r
`)

// advanceDelivery is the Lua function both delivery scripts use: it moves
// an entry's delivery status forward only, sent < delivered < read, failed
// terminal, and returns 1 when it changed, 0 when ignored as a regression.
const advanceDelivery = `
local function advance(conv, field, status, rank, detail)
  local cur = redis.call('HGET', conv, field)
  if cur then
    local r = tonumber(string.match(cur, '^(%d+)'))
    if r >= 4 or r >= tonumber(rank) then return 0 end
  end
  redis.call('HSET', conv, field, rank .. '|' .. status .. '|' .. detail)
  return 1
end
`

// deliveryScript moves an entry's delivery status forward.
//
// KEYS[1] the conversation's hash. ARGV[1] the entry's delivery field, ARGV[2] status,
// ARGV[3] its rank, ARGV[4] detail (error text, may be empty).
// Returns 1 when it changed, 0 when ignored as a regression.
var deliveryScript = redis.NewScript(advanceDelivery + `
return advance(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
`)

// statusScript applies a status webhook: it finds the entry a platform id
// was sent as (the conversation's sent field, or the legacy key of a
// message sent before the hash held it) and moves its delivery status
// forward.
//
// KEYS[1] the conversation's hash, KEYS[2] the platform id's legacy key.
// ARGV[1] the sent field, ARGV[2] status, ARGV[3] its rank, ARGV[4] detail,
// ARGV[5] the conversation id, ARGV[6] the delivery fields' prefix. Returns nil when the id is unknown in the
// conversation, else {entry, 1 when changed or 0}.
var statusScript = redis.NewScript(advanceDelivery + `
local entry = redis.call('HGET', KEYS[1], ARGV[1])
if not entry then
  local ref = redis.call('GET', KEYS[2])
  if not ref then return nil end
  local conv, e = string.match(ref, '^(%S+) (%S+)$')
  if conv ~= ARGV[5] then return nil end
  entry = e
end
return {entry, advance(KEYS[1], ARGV[6] .. entry, ARGV[2], ARGV[3], ARGV[4])}
`)

// listedScript reads conversations of one channel for a listing: for each,
// its version, state, the agent's unread count and its place in line.
//
// KEYS[1] the line; then, per conversation, its hash, its state and its
// unread counts. ARGV[1] the agent, ARGV[2..] the conversation ids.
// Returns {version, state, unread, position (0: not in line)} per
// conversation, "" for what is missing.
var listedScript = redis.NewScript(`
local out = {}
for i = 2, #ARGV do
  local k = 2 + (i - 2) * 3
  out[#out + 1] = redis.call('HGET', KEYS[k], 'v') or ''
  local st = redis.call('GET', KEYS[k + 1]) or ''
  out[#out + 1] = st
  out[#out + 1] = redis.call('HGET', KEYS[k + 2], ARGV[1]) or ''
  local rank = redis.call('ZRANK', KEYS[1], ARGV[i])
  out[#out + 1] = rank and tostring(rank + 1) or '0'
end
return out
`)
