-- The cached part of one feed page, in one round trip.
-- KEYS: the reader's timeline, their followees, the number of follow changes the
-- cache holds for them, the celebrities (the timeline and the sets each hold a
-- sentinel, "~" in the timeline and "" in the sets, so an empty one still exists).
-- ARGV: the exclusive upper bound ("(~" for the first page, "(<id>" after a cursor),
-- the page size, the timeline's time to live in seconds, the prefix of a celebrity's
-- recent-posts key.
-- Returns {0} when the celebrities are not cached, {1} when the reader's timeline is
-- not, else {2, pushed ids, the follow-change number, then per celebrity followee:
-- id, ids or false (not cached), and how many posts that cache holds}.
if redis.call('EXISTS', KEYS[4]) == 0 then return {0} end
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('EXISTS', KEYS[2]) == 0 then return {1} end
local version = redis.call('GET', KEYS[3])
if not version then return {1} end
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[3])
redis.call('EXPIRE', KEYS[3], ARGV[3])
local out = {2, redis.call('ZREVRANGEBYLEX', KEYS[1], ARGV[1], '-', 'LIMIT', 0, ARGV[2]), version}
for _, celebrity in ipairs(redis.call('SINTER', KEYS[2], KEYS[4])) do
  if celebrity ~= '' then
    local key = ARGV[4] .. celebrity
    out[#out + 1] = celebrity
    if redis.call('EXISTS', key) == 1 then
      out[#out + 1] = redis.call('ZREVRANGEBYLEX', key, ARGV[1], '-', 'LIMIT', 0, ARGV[2])
      out[#out + 1] = redis.call('ZCARD', key) - 1
    else
      out[#out + 1] = false
      out[#out + 1] = 0
    end
  end
end
return out
