-- Fan-out on write, server side: one call writes (or removes) one post id in many
-- cached timelines. KEYS: the timelines; ARGV: "add" or "rem", the post id, how many
-- members a timeline keeps (its length plus the "~" sentinel).
-- Only timelines that exist are written: a missing one belongs to a user inactive for
-- long enough that it expired (or to a flushed cache), and is rebuilt from DynamoDB
-- when they read. ZADD and ZREM are idempotent, so a redelivered job changes nothing.
local op, id, keep = ARGV[1], ARGV[2], tonumber(ARGV[3])
-- A cached timeline always holds the sentinel, so ZCARD alone says whether it is
-- cached (0: it is not) and whether it is full: one command less per reader.
local written = 0
for i = 1, #KEYS do
  local key = KEYS[i]
  local held = redis.call('ZCARD', key)
  if held > 0 then
    if op == 'add' then
      if redis.call('ZADD', key, 0, id) == 1 and held >= keep then
        redis.call('ZREMRANGEBYRANK', key, 0, -(keep + 1))
      end
    else
      redis.call('ZREM', key, id)
    end
    written = written + 1
  end
end
return written
