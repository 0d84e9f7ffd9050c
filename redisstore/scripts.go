package redisstore

import "github.com/redis/go-redis/v9"

// The Lua scripts are the store's atomic steps: Redis runs a script
// without interleaving any other command. Each touches only keys of one
// hash tag (listed in KEYS), so each runs on Redis Cluster. Times are Unix
// milliseconds and TTLs milliseconds, both on the store's clock.

// luaLib is prepended to every script.
const luaLib = `
local function ms(n) return string.format('%d', math.floor(n)) end
-- extend lengthens k's TTL to ttl ms; it never shortens one, and never puts
-- one on a key without TTL (a registration that never expires).
local function extend(k, ttl)
  local cur = redis.call('PTTL', k)
  if cur >= 0 and cur < ttl then redis.call('PEXPIRE', k, ms(ttl)) end
end
-- expireToTop makes a sorted set of end times live as long as its latest
-- member, after dropping the members that have ended.
local function expireToTop(k, now)
  redis.call('ZREMRANGEBYSCORE', k, '-inf', ms(now))
  local top = redis.call('ZRANGE', k, -1, -1, 'WITHSCORES')
  if top[2] then redis.call('PEXPIRE', k, ms(tonumber(top[2]) - now)) end
end
`

func script(body string) *redis.Script { return redis.NewScript(luaLib + body) }

// putClient: KEYS client, client grants; ARGV json, NX|XX, end (0: never),
// now. A registration lives until its own end or its latest grant's,
// whichever is later.
var putClient = script(`
local res
if ARGV[3] == '0' then
  res = redis.call('SET', KEYS[1], ARGV[1], ARGV[2])
else
  local e = tonumber(ARGV[3])
  local top = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
  if top[2] and tonumber(top[2]) > e then e = tonumber(top[2]) end
  res = redis.call('SET', KEYS[1], ARGV[1], ARGV[2], 'PX', ms(math.max(e - tonumber(ARGV[4]), 1)))
end
if res then return 1 end
return 0
`)

// clientGrantsIfExists: KEYS client, client grants; ARGV now. Nil for an
// unknown client, else the grant ids filed under it that have not ended
// (an entry's score is never below its grant's end: linkGrant runs
// before the grant is written).
var clientGrantsIfExists = script(`
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
return redis.call('ZRANGE', KEYS[2], 0, -1)
`)

// finishDelete: KEYS client, client grants; ARGV now, then the grant ids
// already revoked. Deletes the client unless a grant was filed meanwhile,
// whose ids it returns instead.
var finishDelete = script(`
for i = 2, #ARGV do redis.call('ZREM', KEYS[2], ARGV[i]) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
local rest = redis.call('ZRANGE', KEYS[2], 0, -1)
if #rest > 0 then return rest end
redis.call('DEL', KEYS[1], KEYS[2])
return {}
`)

// linkGrant: KEYS client, client grants; ARGV grant id, grant end, now,
// ttl. Files the grant under its client and keeps the registration alive
// until the grant ends.
var linkGrant = script(`
redis.call('ZADD', KEYS[2], 'GT', ARGV[2], ARGV[1])
expireToTop(KEYS[2], tonumber(ARGV[3]))
extend(KEYS[1], tonumber(ARGV[4]))
return 1
`)

// claimRefresh: KEYS refresh pointer; ARGV grant id, ttl. 1: created,
// 2: already this grant's (TTL lengthened), 0: another grant's.
var claimRefresh = script(`
local cur = redis.call('GET', KEYS[1])
if not cur then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if cur ~= ARGV[1] then return 0 end
extend(KEYS[1], tonumber(ARGV[2]))
return 2
`)

// releaseRefresh: KEYS refresh pointer; ARGV grant id. Deletes a pointer
// only while it still names that grant.
var releaseRefresh = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`)

// createGrant: KEYS grant, family, tombstone; ARGV json, end, now, ttl,
// refresh hash. Refuses a revoked or existing id.
var createGrant = script(`
if redis.call('EXISTS', KEYS[3]) == 1 then return 'revoked' end
if redis.call('EXISTS', KEYS[1]) == 1 then return 'exists' end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[5])
expireToTop(KEYS[2], tonumber(ARGV[3]))
return 'ok'
`)

// updateGrant: KEYS grant, family; ARGV json, stored version expected,
// client id, end, now, ttl, refresh hashes... The compare-and-swap of
// refresh rotation.
var updateGrant = script(`
local cur = redis.call('GET', KEYS[1])
if not cur then return 'missing' end
local old = cjson.decode(cur)
if old.version ~= tonumber(ARGV[2]) then return 'conflict' end
if old.client_id ~= ARGV[3] then return 'client' end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[6])
for i = 7, #ARGV do redis.call('ZADD', KEYS[2], 'GT', ARGV[4], ARGV[i]) end
expireToTop(KEYS[2], tonumber(ARGV[5]))
return 'ok'
`)

// grantByRefresh: KEYS grant, family; ARGV refresh hash, now. The grant,
// if the hash is a live member of its family; nil otherwise.
var grantByRefresh = script(`
local sc = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not sc or tonumber(sc) <= tonumber(ARGV[2]) then return false end
return redis.call('GET', KEYS[1])
`)

// revokeGrant: KEYS grant, family, tombstone; ARGV ttl for an unknown id,
// channel, message. Deletes the grant, leaves a tombstone until the grant
// would have ended (never shortening one), announces the revocation, and
// returns the grant JSON (empty if there was none) and its refresh hashes,
// for the cleanup.
var revokeGrant = script(`
local cur = redis.call('GET', KEYS[1])
local ttl = tonumber(ARGV[1])
local out = {cur or ''}
if cur then
  local left = redis.call('PTTL', KEYS[1])
  if left > 0 then ttl = left end
  for _, h in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do out[#out + 1] = h end
  redis.call('DEL', KEYS[1], KEYS[2])
end
if redis.call('PTTL', KEYS[3]) < ttl then redis.call('SET', KEYS[3], '1', 'PX', ms(ttl)) end
redis.call('PUBLISH', ARGV[2], ARGV[3])
return out
`)

// putCode: KEYS code; ARGV json, ttl. Refuses a hash already present,
// live or tombstone: overwriting a tombstone would reopen replay.
var putCode = script(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'record', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`)

// consumeCode: KEYS code. {json, was used ('1' or '0'), grant id}, or nil.
// Marking used keeps the key, and so its TTL: the tombstone lives exactly
// as long as the code would have.
var consumeCode = script(`
local v = redis.call('HMGET', KEYS[1], 'record', 'used', 'grant_id')
if not v[1] then return false end
if v[2] then return {v[1], '1', v[3] or ''} end
redis.call('HSET', KEYS[1], 'used', '1')
return {v[1], '0', v[3] or ''}
`)

// setCodeGrant: KEYS code; ARGV grant id. 0 if the code is gone.
var setCodeGrant = script(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'grant_id', ARGV[1])
return 1
`)

// revokeToken: KEYS jti; ARGV ttl, channel, message. The deny-list entry
// and its announcement in one step.
var revokeToken = script(`
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
`)

// saveKeys: KEYS key set; ARGV json, stored version expected (0: none).
var saveKeys = script(`
local cur = redis.call('GET', KEYS[1])
local v = 0
if cur then v = cjson.decode(cur).version end
if v ~= tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
return 1
`)

// releaseLock: KEYS lock; ARGV owner. Deletes the lock only if the caller
// still holds it (it may have expired and been taken by another).
var releaseLock = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)
