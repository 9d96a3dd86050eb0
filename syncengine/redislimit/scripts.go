package redislimit

import "github.com/redis/go-redis/v9"

// The scripts run atomically on the Redis server, so that every worker's
// decision sees every other worker's grants. Times are the server's (TIME)
// in microseconds; what they return is relative to that "now", so that
// workers never compare their own clocks with Redis's.
//
// KEYS[1] is the budget's state hash; KEYS[1+i] is the sorted set of
// grants of window i (member: a grant sequence number, score: its time).
// ARGV after the script's own arguments: the number of windows, then for
// each window its configured limit, length (µs) and burst.
//
// State hash fields: blk (blocked until, from Retry-After), seq (grant
// counter), and for each window length P: lim:P (a limit the service
// reported), rem:P and rst:P (remaining calls until reset, from the
// service), tat:P (the pacing bucket's theoretical arrival time); rem and
// rst without a suffix are feedback for a key without windows.

// common is shared by the scripts: reading the clock and the windows.
const common = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local st = KEYS[1]
local function num(field)
  local v = redis.call('HGET', st, field)
  if v then return tonumber(v) end
  return nil
end
-- srv returns the service's remaining count and reset for suffix while in force.
local function srv(suffix)
  local rst = num('rst' .. suffix)
  if rst and rst > now then return num('rem' .. suffix) or 0, rst end
  return nil, nil
end
local function windows(first)
  local nw = tonumber(ARGV[first])
  local ws = {}
  for i = 1, nw do
    local b = first + (i - 1) * 3
    local w = {limit = tonumber(ARGV[b + 1]), per = tonumber(ARGV[b + 2]), burst = tonumber(ARGV[b + 3]), z = KEYS[1 + i]}
    local lim = num('lim:' .. w.per)
    if lim and lim > 0 then w.limit = lim end
    ws[i] = w
  end
  return ws
end
-- keep makes the state live at least ms more milliseconds.
local function keep(key, ms)
  ms = math.ceil(ms)
  if redis.call('PTTL', key) < ms then redis.call('PEXPIRE', key, ms) end
end
local horizon = 3600000
`

// acquireScript grants n calls when every part of the budget allows them,
// recording the grant. ARGV: n, then the windows. Returns {1, 0, now} when
// granted; {0, wait µs, now} when not yet; {-1, window index, limit} or
// {-2, window index, burst} when n can never fit.
var acquireScript = redis.NewScript(common + `
local n = tonumber(ARGV[1])
local ws = windows(2)
local at = now
local blk = num('blk')
if blk and blk > at then at = blk end
local rem, rst = srv('')
if rem and rem < n and rst > at then at = rst end
for i, w in ipairs(ws) do
  if n > w.limit then return {-1, i, w.limit} end
  redis.call('ZREMRANGEBYSCORE', w.z, '-inf', now - w.per)
  local excess = redis.call('ZCARD', w.z) + n - w.limit
  if excess > 0 then
    local e = redis.call('ZRANGE', w.z, excess - 1, excess - 1, 'WITHSCORES')
    local r = tonumber(e[2]) + w.per
    if r > at then at = r end
  end
  rem, rst = srv(':' .. w.per)
  if rem and rem < n and rst > at then at = rst end
  if w.burst > 0 then
    if n > w.burst then return {-2, i, w.burst} end
    w.T = w.per / w.limit
    w.tat = math.max(num('tat:' .. w.per) or 0, now)
    local allow = w.tat + (n - w.burst) * w.T
    if allow > at then at = allow end
  end
end
if at > now then return {0, math.ceil(at - now), now} end
local seq = redis.call('HINCRBY', st, 'seq', n)
local live = horizon
if srv('') then redis.call('HINCRBY', st, 'rem', -n) end
for _, w in ipairs(ws) do
  local j = 1
  while j <= n do
    local args = {}
    for k = j, math.min(n, j + 499) do
      args[#args + 1] = now
      args[#args + 1] = seq - n + k
    end
    redis.call('ZADD', w.z, unpack(args))
    j = j + 500
  end
  keep(w.z, w.per / 1000 + 1000)
  if srv(':' .. w.per) then redis.call('HINCRBY', st, 'rem:' .. w.per, -n) end
  if w.burst > 0 then redis.call('HSET', st, 'tat:' .. w.per, string.format('%.0f', w.tat + n * w.T)) end
  live = math.max(live, 2 * w.per / 1000)
end
keep(st, live)
return {1, 0, now}
`)

// observeScript takes a response's feedback. ARGV: retry-after (µs, 0:
// none), limit (0: unknown), remaining, whether a reset is known (0/1),
// the reset relative to now (µs), then the windows. It attributes the
// feedback to a window as syncengine.RateLimiter does. Returns now.
var observeScript = redis.NewScript(common + `
local ra, limit, remaining, hasReset, resetIn = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local ws = windows(6)
local live = horizon
if ra > 0 then
  local until_ = now + ra
  if until_ > (num('blk') or 0) then redis.call('HSET', st, 'blk', string.format('%.0f', until_)) end
  live = math.max(live, ra / 1000 + 1000)
end
if limit <= 0 and hasReset == 0 then keep(st, live) return {now} end
local w = nil
if #ws > 0 then
  if limit > 0 then
    for _, x in ipairs(ws) do if x.limit == limit then w = x break end end
  end
  if not w then
    local longest = ws[1]
    for _, x in ipairs(ws) do if x.per > longest.per then longest = x end end
    if hasReset == 0 then
      w = longest
    else
      for _, x in ipairs(ws) do
        if resetIn <= 2 * x.per and (w == nil or x.per < w.per) then w = x end
      end
      if not w then w = longest end
    end
  end
end
local suffix = ''
local reset = now + resetIn
if w then
  suffix = ':' .. w.per
  if limit > 0 and limit ~= w.limit then redis.call('HSET', st, 'lim:' .. w.per, limit) end
  if hasReset == 0 then reset = now + w.per end
  live = math.max(live, 2 * w.per / 1000)
elseif hasReset == 0 then
  reset = now
end
if reset > now then
  remaining = math.max(remaining, 0)
  local rst = num('rst' .. suffix)
  if rst and rst > now and math.abs(reset - rst) <= 1000000 then
    remaining = math.min(num('rem' .. suffix) or 0, remaining)
    reset = rst
  end
  redis.call('HSET', st, 'rem' .. suffix, remaining, 'rst' .. suffix, string.format('%.0f', reset))
  live = math.max(live, (reset - now) / 1000 + 1000)
end
keep(st, live)
return {now}
`)

// budgetScript reports the budget without changing it. ARGV: the
// windows. Returns {remaining (-1: unlimited), reset in µs (-1: none),
// blocked for µs (0: not blocked)}.
var budgetScript = redis.NewScript(common + `
local ws = windows(1)
local remaining, reset = -1, -1
local function consider(r, at)
  r = math.max(r, 0)
  if remaining < 0 or r < remaining then
    remaining = r
    if at then reset = math.ceil(at - now) else reset = -1 end
  end
end
local blocked = 0
local blk = num('blk')
if blk and blk > now then blocked = blk - now end
local rem, rst = srv('')
if rem then consider(rem, rst) end
for _, w in ipairs(ws) do
  local from = '(' .. string.format('%.0f', now - w.per)
  local count = redis.call('ZCOUNT', w.z, from, '+inf')
  local first = redis.call('ZRANGEBYSCORE', w.z, from, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  local at = nil
  if #first > 0 then at = tonumber(first[2]) + w.per end
  consider(w.limit - count, at)
  rem, rst = srv(':' .. w.per)
  if rem then consider(rem, rst) end
  if w.burst > 0 then
    local T = w.per / w.limit
    local tat = math.max(num('tat:' .. w.per) or 0, now)
    local tokens = w.burst - (tat - now) / T
    local whole = math.floor(tokens + 1e-6)
    local at2 = nil
    if whole < w.burst then at2 = now + (whole + 1 - tokens) * T end
    consider(whole, at2)
  end
end
return {remaining, reset, math.ceil(blocked)}
`)
