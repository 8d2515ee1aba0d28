-- gcra.lua: one request budget shared by every crawler replica (generic cell rate algorithm).
-- Redis's own clock is used, so replicas on machines with skewed clocks still agree.
--
-- KEYS[1]  the limiter's key: the theoretical arrival time of the next request, in microseconds
-- ARGV[1]  emission interval in microseconds (1,000,000 / requests per second)
-- ARGV[2]  burst tolerance in microseconds (how far ahead of schedule a request may go)
-- Returns  0 when the request may go now, else the microseconds to wait before asking again.

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])

local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then
  tat = now
end

local allow_at = tat - burst
if now < allow_at then
  return allow_at - now
end

local next_tat = tat + interval
redis.call('SET', KEYS[1], next_tat, 'PX', math.ceil((next_tat - now) / 1000) + 1000)
return 0
