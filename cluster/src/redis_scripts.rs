//! Lua scripts that make each state change of the Redis coordinator atomic.
//!
//! Redis runs a script without interleaving other commands, so each check-and-write below reads
//! and changes one consistent state. Every script reads the time from the Redis server (`TIME`),
//! so deadlines do not depend on the clocks of the nodes. The job scripts build job keys from
//! the key prefix inside the script, which standalone Redis allows and Redis Cluster does not.

use bb8_redis::redis::Script;

/// Helpers shared by the scripts, prepended to each one.
const PRELUDE: &str = r#"
local function now_ms()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end

-- The epoch of the lease in force, as a decimal string, or nil when no node holds it.
local function leader_epoch(leader_key)
  local lease = redis.call('GET', leader_key)
  if not lease then
    return nil
  end
  return string.match(lease, ':(%d+)$')
end

local function release_dedup(prefix, dedup_key, id)
  if dedup_key and dedup_key ~= '' then
    local dedup = prefix .. 'dedup:' .. dedup_key
    if redis.call('GET', dedup) == id then
      redis.call('DEL', dedup)
    end
  end
end

-- Ends the running attempt of a job as failed: back to the ready queue after retry_ms, or to
-- the dead letters when no attempts are left. Returns 'retried' or 'dead'.
local function fail_attempt(prefix, ready, running, dead, id, error_message, retry_ms, now, retention_ms)
  local key = prefix .. 'job:' .. id
  local job = redis.call('HMGET', key, 'attempts', 'max_attempts', 'dedup_key')
  redis.call('ZREM', running, id)
  redis.call('HDEL', key, 'claim_token', 'deadline_ms')
  if tonumber(job[1]) < tonumber(job[2]) then
    redis.call('HSET', key, 'state', 'failed', 'last_error', error_message)
    redis.call('ZADD', ready, now + retry_ms, id)
    return 'retried'
  end
  redis.call('HSET', key, 'state', 'dead', 'last_error', error_message, 'finished_ms', now)
  redis.call('ZADD', dead, now, id)
  redis.call('ZREMRANGEBYSCORE', dead, '-inf', now - retention_ms)
  release_dedup(prefix, job[3], id)
  redis.call('PEXPIRE', key, retention_ms)
  return 'dead'
end

-- Returns 'ok' when the job is running under the claim token, else 'not_found' or 'stale'.
local function check_claim(key, token)
  local job = redis.call('HMGET', key, 'state', 'claim_token')
  if not job[1] then
    return 'not_found'
  end
  if job[1] ~= 'running' or job[2] ~= token then
    return 'stale'
  end
  return 'ok'
end
"#;

/// KEYS: node index, node hash. ARGV: node id, address, start time in ms, ttl in ms.
const HEARTBEAT: &str = r#"
local ttl_ms = tonumber(ARGV[4])
redis.call('HSET', KEYS[2], 'address', ARGV[2], 'started_at_ms', ARGV[3])
redis.call('PEXPIRE', KEYS[2], ttl_ms)
redis.call('ZADD', KEYS[1], now_ms() + ttl_ms, ARGV[1])
return 'ok'
"#;

/// KEYS: node index. ARGV: key prefix. Returns id, address, start time, id, address, ...
const LIVE_NODES: &str = r#"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms())
local nodes = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local node = redis.call('HMGET', ARGV[1] .. 'node:' .. id, 'address', 'started_at_ms')
  if node[1] then
    table.insert(nodes, id)
    table.insert(nodes, node[1])
    table.insert(nodes, node[2])
  end
end
return nodes
"#;

/// KEYS: lease, epoch counter. ARGV: node id, ttl in ms. Returns the new epoch, or nil.
const ACQUIRE_LEADERSHIP: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 1 then
  return false
end
-- A missing counter starts at the server time in ms, so that epochs keep rising even after
-- Redis has lost its data, as long as there were fewer terms than milliseconds before.
if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('SET', KEYS[2], string.format('%d', now_ms()))
end
local epoch = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. string.format('%d', epoch), 'PX', ARGV[2])
return epoch
"#;

/// KEYS: key. ARGV: expected value, ttl in ms. Returns 1 when the key held the value.
const COMPARE_AND_EXPIRE: &str = r#"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"#;

/// KEYS: key. ARGV: expected value. Returns 1 when the key held the value and was deleted.
const COMPARE_AND_DELETE: &str = r#"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
return 1
"#;

/// KEYS: ready queue, lease. ARGV: key prefix, job id, task, payload, de-duplication key or '',
/// max attempts, not-before time in ms or '', fencing epoch or ''.
/// Returns {'enqueued', id}, {'duplicate', existing id} or {'fenced'}.
const ENQUEUE: &str = r#"
local prefix, id = ARGV[1], ARGV[2]
if ARGV[8] ~= '' and leader_epoch(KEYS[2]) ~= ARGV[8] then
  return {'fenced'}
end

local dedup = nil
if ARGV[5] ~= '' then
  dedup = prefix .. 'dedup:' .. ARGV[5]
  local existing = redis.call('GET', dedup)
  if existing and redis.call('EXISTS', prefix .. 'job:' .. existing) == 1 then
    return {'duplicate', existing}
  end
end

local now = now_ms()
local ready_at = now
if ARGV[7] ~= '' then
  ready_at = tonumber(ARGV[7])
end
redis.call('HSET', prefix .. 'job:' .. id,
  'task', ARGV[3], 'payload', ARGV[4], 'state', 'pending', 'attempts', 0,
  'max_attempts', ARGV[6], 'dedup_key', ARGV[5], 'created_ms', now)
redis.call('ZADD', KEYS[1], ready_at, id)
if dedup then
  redis.call('SET', dedup, id)
end
return {'enqueued', id}
"#;

/// KEYS: ready queue, running set. ARGV: key prefix, node id, visibility in ms, claim token.
/// Returns {id, task, payload, attempt, max attempts}, or nil when no job is ready.
const CLAIM: &str = r#"
local prefix = ARGV[1]
local now = now_ms()
-- A ready id without a job hash cannot arise from these scripts, but skip a few if present.
for _ = 1, 16 do
  local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 1)
  if #ids == 0 then
    return false
  end
  local id = ids[1]
  local key = prefix .. 'job:' .. id
  redis.call('ZREM', KEYS[1], id)
  if redis.call('EXISTS', key) == 1 then
    local attempt = redis.call('HINCRBY', key, 'attempts', 1)
    local deadline = now + tonumber(ARGV[3])
    redis.call('HSET', key, 'state', 'running', 'node', ARGV[2], 'claim_token', ARGV[4], 'deadline_ms', deadline)
    redis.call('ZADD', KEYS[2], deadline, id)
    local job = redis.call('HMGET', key, 'task', 'payload', 'max_attempts')
    return {id, job[1], job[2], attempt, tonumber(job[3])}
  end
end
return false
"#;

/// KEYS: running set. ARGV: key prefix, job id, claim token, result, retention in ms.
/// Returns 'ok', 'not_found' or 'stale'.
const ACK: &str = r#"
local prefix, id = ARGV[1], ARGV[2]
local key = prefix .. 'job:' .. id
local claim = check_claim(key, ARGV[3])
if claim ~= 'ok' then
  return claim
end
redis.call('ZREM', KEYS[1], id)
redis.call('HDEL', key, 'claim_token', 'deadline_ms')
redis.call('HSET', key, 'state', 'succeeded', 'result', ARGV[4], 'finished_ms', now_ms())
release_dedup(prefix, redis.call('HGET', key, 'dedup_key'), id)
redis.call('PEXPIRE', key, ARGV[5])
return 'ok'
"#;

/// KEYS: ready queue, running set, dead letters. ARGV: key prefix, job id, claim token,
/// error message, retry delay in ms, retention in ms.
/// Returns 'retried', 'dead', 'not_found' or 'stale'.
const FAIL: &str = r#"
local prefix, id = ARGV[1], ARGV[2]
local claim = check_claim(prefix .. 'job:' .. id, ARGV[3])
if claim ~= 'ok' then
  return claim
end
return fail_attempt(prefix, KEYS[1], KEYS[2], KEYS[3], id, ARGV[4], tonumber(ARGV[5]), now_ms(), tonumber(ARGV[6]))
"#;

/// KEYS: running set. ARGV: key prefix, job id, claim token, visibility in ms.
/// Returns 'ok', 'not_found' or 'stale'.
const EXTEND_CLAIM: &str = r#"
local prefix, id = ARGV[1], ARGV[2]
local key = prefix .. 'job:' .. id
local claim = check_claim(key, ARGV[3])
if claim ~= 'ok' then
  return claim
end
local deadline = now_ms() + tonumber(ARGV[4])
redis.call('HSET', key, 'deadline_ms', deadline)
redis.call('ZADD', KEYS[1], deadline, id)
return 'ok'
"#;

/// KEYS: ready queue, running set, dead letters. ARGV: key prefix, batch size, retention in
/// ms, error message before the node id. Returns id, outcome, id, outcome, ...
const RECLAIM_EXPIRED: &str = r#"
local prefix = ARGV[1]
local now = now_ms()
local reclaimed = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))) do
  local key = prefix .. 'job:' .. id
  if redis.call('EXISTS', key) == 0 then
    redis.call('ZREM', KEYS[2], id)
  else
    local node = redis.call('HGET', key, 'node') or ''
    local outcome = fail_attempt(prefix, KEYS[1], KEYS[2], KEYS[3], id, ARGV[4] .. node, 0, now, tonumber(ARGV[3]))
    table.insert(reclaimed, id)
    table.insert(reclaimed, outcome)
  end
end
return reclaimed
"#;

/// KEYS: ready queue, running set, dead letters. ARGV: retention in ms.
/// Returns {ready, scheduled, running, dead-lettered}.
const QUEUE_DEPTH: &str = r#"
local now = now_ms()
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[1]))
return {
  redis.call('ZCOUNT', KEYS[1], '-inf', now),
  redis.call('ZCOUNT', KEYS[1], string.format('(%d', now), '+inf'),
  redis.call('ZCARD', KEYS[2]),
  redis.call('ZCARD', KEYS[3]),
}
"#;

/// KEYS: lease, tick marker, last tick. ARGV: fencing epoch, tick, retention in ms.
/// Returns 1 for the first claim of the tick, 0 for a later one, -1 for a stale epoch.
const MARK_TICK: &str = r#"
if leader_epoch(KEYS[1]) ~= ARGV[1] then
  return -1
end
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[3]) then
  return 0
end
local last = redis.call('GET', KEYS[3])
if not last or tonumber(last) < tonumber(ARGV[2]) then
  redis.call('SET', KEYS[3], ARGV[2])
end
return 1
"#;

/// KEYS: the window's hit log. ARGV: limit, window in ms, unique member for this hit.
/// Returns 0 when the hit is allowed, else the wait in ms until the oldest hit leaves the window.
const THROTTLE_HIT: &str = r#"
local now = now_ms()
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if #oldest == 0 then
    return window
  end
  return math.max(1, tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return 0
"#;

/// The compiled scripts. `Script` sends `EVALSHA` and loads the source only when Redis does not
/// have it cached yet.
pub(crate) struct Scripts {
    pub heartbeat: Script,
    pub live_nodes: Script,
    pub acquire_leadership: Script,
    pub compare_and_expire: Script,
    pub compare_and_delete: Script,
    pub enqueue: Script,
    pub claim: Script,
    pub ack: Script,
    pub fail: Script,
    pub extend_claim: Script,
    pub reclaim_expired: Script,
    pub queue_depth: Script,
    pub mark_tick: Script,
    pub throttle_hit: Script,
}

impl Scripts {
    pub fn new() -> Self {
        let script = |body: &str| Script::new(&format!("{PRELUDE}\n{body}"));
        Self {
            heartbeat: script(HEARTBEAT),
            live_nodes: script(LIVE_NODES),
            acquire_leadership: script(ACQUIRE_LEADERSHIP),
            compare_and_expire: script(COMPARE_AND_EXPIRE),
            compare_and_delete: script(COMPARE_AND_DELETE),
            enqueue: script(ENQUEUE),
            claim: script(CLAIM),
            ack: script(ACK),
            fail: script(FAIL),
            extend_claim: script(EXTEND_CLAIM),
            reclaim_expired: script(RECLAIM_EXPIRED),
            queue_depth: script(QUEUE_DEPTH),
            mark_tick: script(MARK_TICK),
            throttle_hit: script(THROTTLE_HIT),
        }
    }
}
