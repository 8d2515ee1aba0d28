-- begin_run.lua: replaces the run hash with a new run, but only if the hash still describes
-- the run the producer looked at (compare-and-set), so two producers started together cannot
-- both start a run. The replaced run's keys get an expiry instead of living forever.
--
-- KEYS[1]     the run hash ({prefix}:run)
-- KEYS[2..n]  keys of the replaced run to expire (counters, dedupe sets); may not exist
-- ARGV[1]     id of the run the caller saw ("" when there was none)
-- ARGV[2]     seconds the replaced run's keys are kept
-- ARGV[3..]   field/value pairs of the new run
-- Returns     1 when the new run was written, 0 when the run hash changed meanwhile.

local current = redis.call('HGET', KEYS[1], 'id') or ''
if current ~= ARGV[1] then
  return 0
end

for k = 2, #KEYS do
  redis.call('EXPIRE', KEYS[k], tonumber(ARGV[2]))
end

redis.call('DEL', KEYS[1])
local fields = {}
for a = 3, #ARGV do
  fields[#fields + 1] = ARGV[a]
end
redis.call('HSET', KEYS[1], unpack(fields))
return 1
