-- A follow or an unfollow, in the follower's cached feed (if it is cached).
-- KEYS: the follower's timeline and followees. ARGV: "follow" or "unfollow", the
-- followee, how many members the timeline keeps, then the followee's recent post ids
-- (added on follow, removed on unfollow).
local op, followee, keep = ARGV[1], ARGV[2], tonumber(ARGV[3])
if redis.call('EXISTS', KEYS[2]) == 1 then
  if op == 'follow' then redis.call('SADD', KEYS[2], followee)
  else redis.call('SREM', KEYS[2], followee) end
end
if #ARGV > 3 and redis.call('EXISTS', KEYS[1]) == 1 then
  for i = 4, #ARGV do
    if op == 'follow' then redis.call('ZADD', KEYS[1], 0, ARGV[i])
    else redis.call('ZREM', KEYS[1], ARGV[i]) end
  end
  if redis.call('ZCARD', KEYS[1]) > keep then
    redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(keep + 1))
  end
end
return 1
