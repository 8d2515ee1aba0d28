-- finish_run.lua: marks a run done if, and only if, its counters say nothing is left: the
-- check and the mark are one atomic step, so no dead letter retried or job added in between
-- is missed (DESIGN.md §4, 5). The run's counters and dedupe sets then get an expiry, and the
-- run goes to the head of the list of finished runs (the monitoring page's "last runs").
--
-- KEYS[1]     the run hash ({prefix}:run)
-- KEYS[2]     the list of finished runs ({prefix}:runs)
-- KEYS[3]     the run's counters hash
-- KEYS[4..n]  other keys of the run to expire (dedupe sets)
-- ARGV[1]     run id
-- ARGV[2]     finishedAt (RFC 3339)
-- ARGV[3]     seconds the run's keys are kept
-- ARGV[4]     finished runs kept in the list
-- ARGV[5..]   the counted kinds (list, item, list-result, item-result)
-- Returns     1 marked done now, 2 already done, 0 work is left, -1 the run hash holds another run.

if (redis.call('HGET', KEYS[1], 'id') or '') ~= ARGV[1] then
  return -1
end
if redis.call('HGET', KEYS[1], 'state') == 'done' then
  return 2
end

local function count(field)
  return tonumber(redis.call('HGET', KEYS[3], field) or '0') or 0
end

if count('enqueued:list') <= 0 then
  return 0
end
for a = 5, #ARGV do
  local kind = ARGV[a]
  if count('enqueued:' .. kind) ~= count('done:' .. kind) + count('dead:' .. kind) then
    return 0
  end
end

redis.call('HSET', KEYS[1], 'state', 'done', 'finishedAt', ARGV[2])
for k = 3, #KEYS do
  redis.call('EXPIRE', KEYS[k], tonumber(ARGV[3]))
end

-- A run reopened by a retried dead letter finishes again: it is listed once, at its last finish.
for _, old in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
  local ok, decoded = pcall(cjson.decode, old)
  if not ok or type(decoded) ~= 'table' or decoded.id == ARGV[1] then
    redis.call('LREM', KEYS[2], 0, old)
  end
end
local started = redis.call('HGET', KEYS[1], 'startedAt') or ''
redis.call('LPUSH', KEYS[2], cjson.encode({id = ARGV[1], startedAt = started, finishedAt = ARGV[2]}))
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[4]) - 1)
return 1
