-- A page of post search: the posts under every word, newest first, after a cursor.
-- KEYS[1..n] the words' zsets (post id -> created ms), the rarest first
-- ARGV[1] the cursor's ms (or '+inf'), ARGV[2] the cursor's post id ('' for none),
-- ARGV[3] how many to return, ARGV[4] how many entries of the rarest word to read at most
-- Returns {post id, ms, post id, ms, ...}, at most ARGV[3] pairs
local want, budget = tonumber(ARGV[3]), tonumber(ARGV[4])
local after_ms, after_id = ARGV[1], ARGV[2]
local out = {}
local offset, page = 0, 200
while #out < want * 2 and offset < budget do
  local got = redis.call('ZREVRANGEBYSCORE', KEYS[1], after_ms, '-inf', 'WITHSCORES',
    'LIMIT', offset, page)
  if #got == 0 then break end
  for j = 1, #got, 2 do
    local id, ms = got[j], got[j + 1]
    local fresh = after_id == '' or tonumber(ms) < tonumber(after_ms) or id < after_id
    if fresh then
      local everywhere = true
      for i = 2, #KEYS do
        if not redis.call('ZSCORE', KEYS[i], id) then everywhere = false break end
      end
      if everywhere then
        out[#out + 1] = id
        out[#out + 1] = ms
        if #out >= want * 2 then break end
      end
    end
  end
  offset = offset + page
end
return out
