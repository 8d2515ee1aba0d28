-- retry_dead.lua: sends a dead letter back to its source stream in one atomic step: deletes it
-- from the dead-letter stream, re-adds the original entry, and moves its run's counter from
-- dead back to in flight (dead:K - 1; enqueued:K unchanged), so the run still balances
-- (DESIGN.md §4, 5). A run already marked done is reopened (state running, keys kept) so
-- that `producer run` resumes it and waits for the retried work.
--
-- KEYS[1]     the dead-letter stream
-- KEYS[2]     the source stream (jobs or results)
-- KEYS[3]     the run's counters hash (may not exist: then nothing is counted)
-- KEYS[4]     the run hash ({prefix}:run)
-- KEYS[5..n]  other keys of the run whose expiry is removed when it is reopened
-- ARGV[1]     dead-letter entry id
-- ARGV[2]     run id of the entry ("" when unknown)
-- ARGV[3]     dead counter field (dead:K; "" when the kind is not counted)
-- ARGV[4]     run-hash field of the run id      ARGV[5]  run-hash field of the state
-- ARGV[6]     the done state's value            ARGV[7]  the running state's value
-- ARGV[8]     run-hash field of the finish time (removed when the run reopens)
-- ARGV[9..]   field/value pairs of the entry to re-add
-- Returns     the new entry id, or false when the dead letter was already gone (retried or
--             purged by someone else).

if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then
  return false
end

local fields = {}
for a = 9, #ARGV do
  fields[#fields + 1] = ARGV[a]
end
local id = redis.call('XADD', KEYS[2], '*', unpack(fields))

if ARGV[2] ~= '' and ARGV[3] ~= '' and redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('HINCRBY', KEYS[3], ARGV[3], -1)
end

local id_field, state_field, done_state, running_state, finished_field = ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
if ARGV[2] ~= '' and redis.call('HGET', KEYS[4], id_field) == ARGV[2]
    and redis.call('HGET', KEYS[4], state_field) == done_state then
  redis.call('HSET', KEYS[4], state_field, running_state)
  redis.call('HDEL', KEYS[4], finished_field)
  redis.call('PERSIST', KEYS[3])
  for k = 5, #KEYS do
    redis.call('PERSIST', KEYS[k])
  end
end
return id
