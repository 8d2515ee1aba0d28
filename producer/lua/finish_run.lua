-- finish_run.lua: marks a run done if, and only if, its counters say nothing is left: the
-- check and the mark are one atomic step, so no dead letter retried or job added in between
-- is missed (DESIGN.md §4, 5). The run's counters then get an expiry, and the run goes to the
-- head of the list of finished runs (the monitoring page's "last runs"). Its dedupe sets
-- (list pages and item claims) are needed after the finish only by a retried dead list job
-- or list result: they get the same expiry when some list work was dead-lettered, and are
-- deleted at once when none was, so a finished run leaves Redis as small as it found it
-- (the item claims alone hold ~80 bytes per product).
--
-- KEYS[1]     the run hash ({prefix}:run)
-- KEYS[2]     the list of finished runs ({prefix}:runs)
-- KEYS[3]     the run's counters hash
-- KEYS[4..n]  the run's dedupe sets: kept (with the expiry) or deleted
-- ARGV[1]     run id
-- ARGV[2]     finishedAt (RFC 3339)
-- ARGV[3]     seconds the run's keys are kept
-- ARGV[4]     finished runs kept in the list
-- ARGV[5]     run-hash field of the run id      ARGV[6]  run-hash field of the state
-- ARGV[7]     the done state's value            ARGV[8]  run-hash field of the finish time
-- ARGV[9]     run-hash field of the start time
-- ARGV[10]    counter field of dead list jobs    ARGV[11]  counter field of dead list results
-- ARGV[12..]  per counted kind, three counter fields: enqueued:K, done:K, dead:K; the first
--             kind is the one that must have work (list: a run with no list job is not done)
-- Returns     1 marked done now, 2 already done, 0 work is left, -1 the run hash holds another run.

local id_field, state_field, done_state = ARGV[5], ARGV[6], ARGV[7]
local finished_field, started_field = ARGV[8], ARGV[9]
if (redis.call('HGET', KEYS[1], id_field) or '') ~= ARGV[1] then
  return -1
end
if redis.call('HGET', KEYS[1], state_field) == done_state then
  return 2
end

local function count(field)
  return tonumber(redis.call('HGET', KEYS[3], field) or '0') or 0
end

if count(ARGV[12]) <= 0 then
  return 0
end
for a = 12, #ARGV, 3 do
  if count(ARGV[a]) ~= count(ARGV[a + 1]) + count(ARGV[a + 2]) then
    return 0
  end
end

redis.call('HSET', KEYS[1], state_field, done_state, finished_field, ARGV[2])
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[3]))
local retriable = count(ARGV[10]) + count(ARGV[11]) > 0
for k = 4, #KEYS do
  if retriable then
    redis.call('EXPIRE', KEYS[k], tonumber(ARGV[3]))
  else
    redis.call('DEL', KEYS[k])
  end
end

-- A run reopened by a retried dead letter finishes again: it is listed once, at its last finish.
for _, old in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
  local ok, decoded = pcall(cjson.decode, old)
  if not ok or type(decoded) ~= 'table' or decoded.id == ARGV[1] then
    redis.call('LREM', KEYS[2], 0, old)
  end
end
local started = redis.call('HGET', KEYS[1], started_field) or ''
redis.call('LPUSH', KEYS[2], cjson.encode({id = ARGV[1], startedAt = started, finishedAt = ARGV[2]}))
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[4]) - 1)
return 1
