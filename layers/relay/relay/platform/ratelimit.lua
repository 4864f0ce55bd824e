-- Relay's rate limiter: GCRA over several rules at once, all or nothing.
-- KEYS[1..n]   one key per rule (rl:<rule>:<identity>)
-- KEYS[n+1]    optional: a key to GET in the same round trip (the redirect's cache entry)
-- ARGV[1]      now, in ms (the caller's clock, so tests can move it)
-- ARGV[2]      n, the number of rules
-- ARGV[3..]    per rule: emission interval ms (period / limit), period ms
-- Returns {allowed, index of the tightest rule, remaining, reset ms, retry-after ms, value}
local now = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local allowed = 1
local tightest, remaining, reset, retry = 1, -1, 0, 0
local new_tats = {}
for i = 1, n do
  local interval = tonumber(ARGV[1 + 2 * i])
  local period = tonumber(ARGV[2 + 2 * i])
  local tat = tonumber(redis.call('GET', KEYS[i]) or now)
  if tat < now then tat = now end
  local new_tat = tat + interval
  if new_tat - now > period then
    local wait = new_tat - period - now
    if allowed == 1 or wait > retry then
      tightest, retry = i, wait
    end
    allowed = 0
    remaining, reset = 0, tat - now
  elseif allowed == 1 then
    local left = math.floor((period - (new_tat - now)) / interval)
    if remaining < 0 or left < remaining then
      tightest, remaining, reset = i, left, new_tat - now
    end
  end
  new_tats[i] = new_tat
end
if allowed == 1 then
  for i = 1, n do
    redis.call('SET', KEYS[i], new_tats[i], 'PX', math.max(1, math.ceil(new_tats[i] - now)))
  end
end
local value = false
if #KEYS > n then value = redis.call('GET', KEYS[n + 1]) end
return {allowed, tightest, remaining, reset, retry, value}
