-- A follow or an unfollow, in the follower's cached feed (if it is cached).
-- KEYS: the follower's timeline, followees, and the number of follow changes the
-- cache holds. ARGV: "follow" or "unfollow", the followee, how many members the
-- timeline keeps, the change's number, then the followee's recent post ids (added on
-- follow, removed on unfollow).
-- Changes are numbered one by one (relay.feed.profiles_table): the cache takes change
-- n only on top of change n - 1. One it already holds is left alone; one that finds
-- an earlier change missing (a write lost while Redis hung) drops the cached feed,
-- which the next read rebuilds from DynamoDB. Returns 1 when written, else 0.
local op, followee, keep, number = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
local held = tonumber(redis.call('GET', KEYS[3]) or '-1')
if held >= number then return 0 end
if held ~= number - 1 then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
  return 0
end
redis.call('SET', KEYS[3], number, 'KEEPTTL')
if op == 'follow' then redis.call('SADD', KEYS[2], followee)
else redis.call('SREM', KEYS[2], followee) end
if #ARGV > 4 and redis.call('EXISTS', KEYS[1]) == 1 then
  for i = 5, #ARGV do
    if op == 'follow' then redis.call('ZADD', KEYS[1], 0, ARGV[i])
    else redis.call('ZREM', KEYS[1], ARGV[i]) end
  end
  if redis.call('ZCARD', KEYS[1]) > keep then
    redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(keep + 1))
  end
end
return 1
