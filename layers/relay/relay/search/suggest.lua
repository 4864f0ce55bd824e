-- Suggestions in one round trip: candidates from prefix and typo keys, their docs, and
-- what makes them the caller's own.
-- KEYS[1] the docs hash, KEYS[2] the caller's recent searches, KEYS[3] the people the
-- caller follows, KEYS[4..] candidate keys, the exact prefix keys first
-- ARGV[1] how many keys are exact, ARGV[2] entries read from an exact key, ARGV[3] from a
-- typo key, ARGV[4] recent searches read
-- Returns {ids, popularity, exact (1|0), docs, followed (1|0), recent, follows known}
local exact_keys = tonumber(ARGV[1])
local order, score, exact = {}, {}, {}
for i = 4, #KEYS do
  local is_exact = (i - 3) <= exact_keys
  local got = redis.call('ZREVRANGE', KEYS[i], 0, tonumber(is_exact and ARGV[2] or ARGV[3]) - 1,
    'WITHSCORES')
  for j = 1, #got, 2 do
    local id = got[j]
    if score[id] == nil then
      order[#order + 1] = id
      score[id] = got[j + 1]
      exact[id] = 0
    end
    if is_exact then exact[id] = 1 end
  end
end
local scores, exacts, followed, docs = {}, {}, {}, {}
for n, id in ipairs(order) do
  scores[n] = score[id]
  exacts[n] = exact[id]
  followed[n] = redis.call('SISMEMBER', KEYS[3], id)
end
if #order > 0 then
  docs = redis.call('HMGET', KEYS[1], unpack(order))
end
local recent = redis.call('ZREVRANGE', KEYS[2], 0, tonumber(ARGV[4]) - 1)
return {order, scores, exacts, docs, followed, recent, redis.call('EXISTS', KEYS[3])}
