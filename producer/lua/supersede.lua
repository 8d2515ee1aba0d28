-- supersede.lua: counts and deletes one chunk of the entries a new run moved out of a stream
-- (see begin_run.lua): each deleted entry bumps superseded:K in its own run's counters, so that
-- run still balances (enqueued = done + dead + superseded + in flight). The caller reads the
-- chunk (XRANGE ... COUNT n) and passes the ids, so one call touches a bounded number of
-- entries and never blocks Redis for long, however many entries were moved. Nobody else reads
-- the superseded stream, and an entry already deleted (by another producer counting the same
-- stream) is not counted again.
--
-- KEYS[1]     the superseded stream ({prefix}:jobs:superseded or {prefix}:results:superseded)
-- KEYS[2..n]  counters hashes of the entries' runs; one that no longer exists is not recreated
-- ARGV[1..]   triples: entry id, index in KEYS of its run's counters (0: not counted),
--             counter field (superseded:K)
-- Returns     the number of entries this call deleted. The stream is deleted once empty.

local removed = 0
for a = 1, #ARGV, 3 do
  if redis.call('XDEL', KEYS[1], ARGV[a]) == 1 then
    removed = removed + 1
    local counters = tonumber(ARGV[a + 1])
    if counters > 0 and redis.call('EXISTS', KEYS[counters]) == 1 then
      redis.call('HINCRBY', KEYS[counters], ARGV[a + 2], 1)
    end
  end
end
if redis.call('XLEN', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[1])
end
return removed
