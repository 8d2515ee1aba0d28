-- bootstrap_take.lua: a category page's values for one crawler, read once by the fleet.
-- The check and the lease are one step, so of the crawlers that find no values exactly one
-- reads the page, and a waiter's stream position is taken before the reader can add to it.
--
-- KEYS[1]  the shared values ({ek}:bootstrap:<origin>|<category>)
-- KEYS[2]  the reader's lease ({ek}:bootstrap-lease:...)
-- KEYS[3]  the ready stream the reader adds to when it is done ({ek}:bootstrap-ready:...)
-- ARGV[1]  this crawler's token
-- ARGV[2]  the lease in milliseconds
-- Returns  {1, values, 0}: shared already; {2, '', 0}: the lease is this crawler's, it reads
--          the page; {3, stream id, lease ms left}: another crawler reads it, XREAD BLOCK
--          from that id wakes when it is done.

local values = redis.call('GET', KEYS[1])
if values then
  return {1, values, 0}
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {2, '', 0}
end
local last = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)
local id = '0-0'
if #last > 0 then
  id = last[1][1]
end
return {3, id, redis.call('PTTL', KEYS[2])}
