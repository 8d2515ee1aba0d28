-- finish_run.lua: marks a run done if, and only if, its counters say nothing is left: the
-- check and the mark are one atomic step, so no dead letter retried or job added in between
-- is missed (DESIGN.md §4, 5). The run's counters and dedupe sets then get an expiry.
--
-- KEYS[1]     the run hash ({prefix}:run)
-- KEYS[2]     the run's counters hash
-- KEYS[3..n]  other keys of the run to expire (dedupe sets)
-- ARGV[1]     run id
-- ARGV[2]     finishedAt (RFC 3339)
-- ARGV[3]     seconds the run's keys are kept
-- ARGV[4]     run-hash field of the run id      ARGV[5]  run-hash field of the state
-- ARGV[6]     the done state's value            ARGV[7]  run-hash field of the finish time
-- ARGV[8..]   per counted kind, three counter fields: enqueued:K, done:K, dead:K; the first
--             kind is the one that must have work (list: a run with no list job is not done)
-- Returns     1 marked done now, 2 already done, 0 work is left, -1 the run hash holds another run.

local id_field, state_field, done_state, finished_field = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
if (redis.call('HGET', KEYS[1], id_field) or '') ~= ARGV[1] then
  return -1
end
if redis.call('HGET', KEYS[1], state_field) == done_state then
  return 2
end

local function count(field)
  return tonumber(redis.call('HGET', KEYS[2], field) or '0') or 0
end

if count(ARGV[8]) <= 0 then
  return 0
end
for a = 8, #ARGV, 3 do
  if count(ARGV[a]) ~= count(ARGV[a + 1]) + count(ARGV[a + 2]) then
    return 0
  end
end

redis.call('HSET', KEYS[1], state_field, done_state, finished_field, ARGV[2])
for k = 2, #KEYS do
  redis.call('EXPIRE', KEYS[k], tonumber(ARGV[3]))
end
return 1
