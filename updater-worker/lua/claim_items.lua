-- Claims pcodes for item jobs, at most once per run: the first stream entry to claim a pcode
-- owns it, and a redelivered entry (same entry id) finds its own claim again.
--
-- KEYS[1..n]  the per-run claim hashes ({prefix}:run:<run_id>:items), one per run in the batch
-- ARGV[1]     seconds to keep each hash (it must outlive the run; it must not live forever)
-- ARGV[2..]   triples: index into KEYS (1-based), pcode, claiming stream entry id
-- Returns     one integer per triple: 1 when the pcode belongs to that entry, 0 otherwise
local ttl = tonumber(ARGV[1])
local owned = {}
for i = 2, #ARGV, 3 do
  local key = KEYS[tonumber(ARGV[i])]
  local pcode = ARGV[i + 1]
  local entry = ARGV[i + 2]
  redis.call('HSETNX', key, pcode, entry)
  if redis.call('HGET', key, pcode) == entry then
    owned[#owned + 1] = 1
  else
    owned[#owned + 1] = 0
  end
end
for i = 1, #KEYS do
  redis.call('EXPIRE', KEYS[i], ttl)
end
return owned
