-- begin_run.lua: replaces the run hash with a new run, but only if the hash still describes
-- the run the producer looked at (compare-and-set), so two producers started together cannot
-- both start a run. The replaced run's keys get an expiry instead of living forever.
--
-- In the same atomic step, whatever is left in the jobs and results streams — entries of older
-- runs only, since the new run has enqueued nothing yet — is taken out of the workers' reach:
-- each stream is renamed, with its groups and pending entries, to its superseded key and
-- created again, empty, with its group. That costs the same whatever the streams hold (no
-- entry is touched here); a worker still holding an old entry then finds it no longer pending
-- and its ack adds and counts nothing (ack_and_add.lua). supersede.lua then counts the moved
-- entries in their runs' counters and deletes them, in bounded chunks.
--
-- KEYS[1]     the run hash ({prefix}:run)
-- KEYS[2]     the jobs stream          KEYS[3]  its superseded key
-- KEYS[4]     the results stream       KEYS[5]  its superseded key
-- KEYS[6..n]  keys of the replaced run to expire (counters, dedupe sets); may not exist
-- ARGV[1]     id of the run the caller saw ("" when there was none)
-- ARGV[2]     seconds the replaced run's keys are kept
-- ARGV[3]     consumer group of the jobs stream
-- ARGV[4]     consumer group of the results stream
-- ARGV[5]     run-hash field of the run id
-- ARGV[6..]   field/value pairs of the new run
-- Returns     1 when the new run was written, 0 when the run hash changed meanwhile, -1 when
--             entries superseded by an earlier start are still waiting to be counted (the
--             caller counts them with supersede.lua and tries again; nothing was changed).

local current = redis.call('HGET', KEYS[1], ARGV[5]) or ''
if current ~= ARGV[1] then
  return 0
end
if redis.call('EXISTS', KEYS[3]) == 1 or redis.call('EXISTS', KEYS[5]) == 1 then
  return -1
end

for s = 0, 1 do
  local stream, superseded, group = KEYS[2 + 2 * s], KEYS[3 + 2 * s], ARGV[3 + s]
  if redis.call('EXISTS', stream) == 1 then
    redis.call('RENAME', stream, superseded)
  end
  redis.call('XGROUP', 'CREATE', stream, group, '0', 'MKSTREAM')
end

for k = 6, #KEYS do
  redis.call('EXPIRE', KEYS[k], tonumber(ARGV[2]))
end

redis.call('DEL', KEYS[1])
local fields = {}
for a = 6, #ARGV do
  fields[#fields + 1] = ARGV[a]
end
redis.call('HSET', KEYS[1], unpack(fields))
return 1
