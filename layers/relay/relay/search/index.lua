-- Search's index: put one doc (a person, a hashtag, a query) under its terms' keys.
-- KEYS[1] the docs hash, KEYS[2] the popularity zset, KEYS[3] the doc's tombstone,
-- KEYS[4..] the prefix and deletion-neighbourhood keys of its terms
-- ARGV[1] doc id, ARGV[2] doc JSON, ARGV[3] popularity (or its increment), ARGV[4] 'set'
-- or 'incr', ARGV[5] how many entries each key keeps (the best by popularity)
-- Returns the doc's popularity, or -1 when a tombstone says it was deleted meanwhile.
if redis.call('EXISTS', KEYS[3]) == 1 then
  return '-1'
end
local score
if ARGV[4] == 'incr' then
  score = redis.call('ZINCRBY', KEYS[2], ARGV[3], ARGV[1])
else
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
  score = ARGV[3]
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local keep = tonumber(ARGV[5])
for i = 4, #KEYS do
  redis.call('ZADD', KEYS[i], score, ARGV[1])
  if redis.call('ZCARD', KEYS[i]) > keep then
    redis.call('ZREMRANGEBYRANK', KEYS[i], 0, -(keep + 1))
  end
end
return tostring(score)
