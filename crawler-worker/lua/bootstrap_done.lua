-- bootstrap_done.lua: the lease holder is done reading a category page: its values are
-- shared (or, when the read failed, nothing is), the lease is let go, and the crawlers
-- waiting on the ready stream wake.
--
-- KEYS[1]  the shared values
-- KEYS[2]  the reader's lease
-- KEYS[3]  the ready stream
-- ARGV[1]  this crawler's token (the lease is deleted only while it is still this one's)
-- ARGV[2]  the values as JSON; empty when the read failed
-- ARGV[3]  how long the values are shared, in seconds
-- ARGV[4]  how long the ready stream is kept, in milliseconds (the lease's length: nobody
--          waits longer)
-- Returns  1

if ARGV[2] ~= '' then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
end
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('DEL', KEYS[2])
end
redis.call('XADD', KEYS[3], 'MAXLEN', '1', '*', 'shared', ARGV[2] ~= '' and '1' or '0')
redis.call('PEXPIRE', KEYS[3], ARGV[4])
return 1
