-- Fan-out on write, server side: one call writes (or removes) one post id in many
-- cached timelines. KEYS: the timelines; ARGV: "add" or "rem", the post id, how many
-- members a timeline keeps (its length plus the "~" sentinel).
-- Only timelines that exist are written: a missing one belongs to a user inactive for
-- long enough that it expired (or to a flushed cache), and is rebuilt from DynamoDB
-- when they read. ZADD and ZREM are idempotent, so a redelivered job changes nothing.
local op, id, keep = ARGV[1], ARGV[2], tonumber(ARGV[3])
local written = 0
for i = 1, #KEYS do
  local key = KEYS[i]
  if redis.call('EXISTS', key) == 1 then
    if op == 'add' then
      redis.call('ZADD', key, 0, id)
      if redis.call('ZCARD', key) > keep then
        redis.call('ZREMRANGEBYRANK', key, 0, -(keep + 1))
      end
    else
      redis.call('ZREM', key, id)
    end
    written = written + 1
  end
end
return written
