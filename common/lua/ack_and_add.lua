-- ack_and_add.lua: acknowledges stream entries and, in the same atomic step, adds the entries
-- that follow from them (results, follow-up jobs, dead letters) and bumps the run counters.
-- An entry that is no longer pending (another consumer already acknowledged it) adds nothing
-- and counts nothing, so every job's work is counted exactly once (DESIGN.md §4, 2 and 5).
--
-- KEYS[1..n]  every key the step touches (streams, dedupe sets, counter hashes); all share one
--             hash tag. ARGV refers to them by their 1-based index in KEYS.
-- ARGV[1]     consumer group of the acknowledged entries
-- ARGV[2]     counters-hash field set to the server time (Unix ms) by every step that bumps
--             counters (a job or result finished, done or dead): the run's last progress,
--             which `producer status` and the queue gauges turn into "stalled since"
-- ARGV[3]     number of steps S; each step then reads, in order:
--               source stream index (0: nothing to acknowledge), entry id,
--               counters hash index (0: none), number of increments C, C pairs (field, delta),
--               number of adds A, then per add:
--                 stream index, dedupe set index (0: none), dedupe member,
--                 guard hash index (0: none), guard field, guard value (added only when
--                 HGET hash field == value; checked before the dedupe set is touched),
--                 counter field bumped by 1 when added ("": none), approximate MAXLEN (0: none),
--                 number of fields F, F pairs (field, value)
-- Returns     per step: the number of entries added, or -1 when the entry was no longer pending.

local group = ARGV[1]
local progress_field = ARGV[2]
local steps = tonumber(ARGV[3])
local i = 4
local out = {}

for s = 1, steps do
  local source, id = tonumber(ARGV[i]), ARGV[i + 1]
  local counters, increments = tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])
  i = i + 4

  local live = true
  if source > 0 then
    live = redis.call('XACK', KEYS[source], group, id) == 1
    if live then
      -- Acknowledged entries are deleted: a million-job run must not fill Redis.
      redis.call('XDEL', KEYS[source], id)
    end
  end

  if live and counters > 0 then
    for c = 0, increments - 1 do
      redis.call('HINCRBY', KEYS[counters], ARGV[i + 2 * c], ARGV[i + 2 * c + 1])
    end
    if increments > 0 then
      local now = redis.call('TIME')
      redis.call('HSET', KEYS[counters], progress_field,
        string.format('%d', tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)))
    end
  end
  i = i + 2 * increments

  local adds = tonumber(ARGV[i])
  i = i + 1
  local added = 0
  for _ = 1, adds do
    local stream, dedupe, member = tonumber(ARGV[i]), tonumber(ARGV[i + 1]), ARGV[i + 2]
    local guard, guard_field, guard_value = tonumber(ARGV[i + 3]), ARGV[i + 4], ARGV[i + 5]
    local counter, maxlen, nfields = ARGV[i + 6], tonumber(ARGV[i + 7]), tonumber(ARGV[i + 8])
    local first_field = i + 9
    i = first_field + 2 * nfields

    local fresh = live
    if fresh and guard > 0 then
      fresh = redis.call('HGET', KEYS[guard], guard_field) == guard_value
    end
    if fresh and dedupe > 0 then
      fresh = redis.call('SADD', KEYS[dedupe], member) == 1
    end
    if fresh then
      local args = { KEYS[stream] }
      if maxlen > 0 then
        args[#args + 1] = 'MAXLEN'
        args[#args + 1] = '~'
        args[#args + 1] = maxlen
      end
      args[#args + 1] = '*'
      for f = first_field, i - 1 do
        args[#args + 1] = ARGV[f]
      end
      redis.call('XADD', unpack(args))
      if counter ~= '' and counters > 0 then
        redis.call('HINCRBY', KEYS[counters], counter, 1)
      end
      added = added + 1
    end
  end

  if live then
    out[s] = added
  else
    out[s] = -1
  end
end

return out
