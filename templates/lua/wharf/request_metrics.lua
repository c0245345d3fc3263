-- wharf's request metrics, counted in NGINX's log phase and read by the agent on each scrape.
--
-- Every location rendered from an Ingress or a route sets $wharf_metrics (src/render/location.ts
-- renderMetricsLine): base64 of a JSON array [kind, namespace, name, service, path, host], the
-- path being the rule's pattern, never the request's URI, and the host the rule's (wildcards
-- included), never the Host header; after a "." when the location has a canary. A series is that
-- value plus the method (unknown ones become OTHER), the status class (2xx) and the canary
-- upstream when the request went to the canary. So the number of series is bounded by the
-- configuration, and by `max_series` on top: a request whose series would be past it is counted in
-- `overflow` only.
--
-- Storage, in the shared dict `wharf_request_metrics` (kept across reloads, like the endpoints):
--   s:<series>  -> id       n:<id> -> series        next, series, overflow: counters
--   <id><m><i>  -> count of observations in bucket i (1-based, #bounds + 1 is +Inf) of metric m
--   <id><m>s    -> sum of the observations of metric m
-- with m one of d (request time), u (upstream response time), q (request length), r (bytes sent).
-- Counts are stored per bucket, not cumulated; the request count is the count of d. A request only
-- adds to its worker's Lua tables; a timer adds those to the dict every second, at worker exit
-- (reloads) and before a dump, so the agent sees other workers' requests at most a second late.
-- The agent cumulates, names and labels them (src/agent/request-metrics.ts).
local ngx = ngx
local dict = ngx.shared.wharf_request_metrics
local tonumber = tonumber
local concat = table.concat
local ceil = math.ceil
local byte = string.byte
local DOT = 46

local _M = {}

-- ingress-nginx's default buckets: --time-buckets, --length-buckets; bytes sent uses the union of
-- --length-buckets and --size-buckets, so one stored histogram gives both response_size and bytes_sent.
local BOUNDS = {
  d = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 },
  u = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 },
  q = { 10, 20, 30, 40, 50, 60, 70, 80, 90, 100 },
  r = { 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 1000, 10000, 100000, 1000000, 10000000 },
}
local ORDER = { "d", "u", "q", "r" }

local METHODS = {
  GET = true, HEAD = true, POST = true, PUT = true, DELETE = true, PATCH = true, OPTIONS = true,
  CONNECT = true, TRACE = true,
}
-- The status class of each status NGINX can send (100 to 599), by number: one table read a request.
local CLASSES = {}
for status = 100, 599 do
  CLASSES[status] = ({ "1xx", "2xx", "3xx", "4xx", "5xx" })[math.floor(status / 100)]
end

local max_series = 5000
-- Per worker: series -> its counts since the last flush ({ id, d = {...}, ds = sum, ... }), so a
-- request touches Lua tables only; a timer adds them to the dict every second (and at worker exit).
local known = {}
local dirty = {}
local timer_started = false

-- Called from init_by_lua with the agent's settings.
function _M.configure(o)
  max_series = o.max_series or max_series
end

local SUM = { d = "ds", u = "us", q = "qs", r = "rs" }

local function zeros(n)
  local t = {}
  for i = 1, n do
    t[i] = 0
  end
  return t
end

-- All fields in the constructor: every entry has the same shape, which the log phase's compiled
-- code relies on.
local function new_entry(id)
  return {
    id = id, dirty = false,
    d = zeros(#BOUNDS.d + 1), ds = 0, u = zeros(#BOUNDS.u + 1), us = 0,
    q = zeros(#BOUNDS.q + 1), qs = 0, r = zeros(#BOUNDS.r + 1), rs = 0,
  }
end

-- Adds this worker's counts to the dict and clears them.
local function flush()
  local pending = dirty
  dirty = {}
  for k = 1, #pending do
    local e = pending[k]
    e.dirty = false
    local id = e.id
    for _, m in ipairs(ORDER) do
      local counts = e[m]
      for i = 1, #counts do
        local c = counts[i]
        if c > 0 then
          dict:incr(id .. m .. i, c, 0)
          counts[i] = 0
        end
      end
      local sum_key = SUM[m]
      if e[sum_key] ~= 0 then
        dict:incr(id .. sum_key, e[sum_key], 0)
        e[sum_key] = 0
      end
    end
  end
end
_M.flush = flush

-- Set once this worker is shutting down (a reload): its timer has run for the last time, so the
-- requests it still finishes are added to the dict at once.
local exiting = false

-- Every second, and once more with premature = true when the worker starts to exit.
local function on_timer(premature)
  if premature then
    exiting = true
  end
  flush()
end

-- The bucket (1-based, #BOUNDS[m] + 1 for +Inf) of an observation, without a loop: a loop over the
-- bounds leaves the compiled trace at a different iteration for each value, and the log phase is
-- where every request pays. Checked against BOUNDS when the module loads (check_buckets).
local function time_bucket(v)
  if v <= 0.005 then return 1 end
  if v <= 0.01 then return 2 end
  if v <= 0.025 then return 3 end
  if v <= 0.05 then return 4 end
  if v <= 0.1 then return 5 end
  if v <= 0.25 then return 6 end
  if v <= 0.5 then return 7 end
  if v <= 1 then return 8 end
  if v <= 2.5 then return 9 end
  if v <= 5 then return 10 end
  if v <= 10 then return 11 end
  return 12
end

local function length_bucket(v)
  if v <= 10 then return 1 end
  if v <= 100 then return ceil(v / 10) end
  return 11
end

local function sent_bucket(v)
  if v <= 100 then
    if v <= 10 then return 1 end
    return ceil(v / 10)
  end
  if v <= 1000 then return 11 end
  if v <= 10000 then return 12 end
  if v <= 100000 then return 13 end
  if v <= 1000000 then return 14 end
  if v <= 10000000 then return 15 end
  return 16
end

local BUCKET = { d = time_bucket, u = time_bucket, q = length_bucket, r = sent_bucket }

-- Each bound is in its own bucket and what is just above it in the next: the functions above
-- and BOUNDS (which the dump gives the agent) say the same.
local function check_buckets()
  for m, bounds in pairs(BOUNDS) do
    local f = BUCKET[m]
    for k, b in ipairs(bounds) do
      local above = b + (b >= 10 and 1 or 1e-9)
      if f(b) ~= k or f(above) ~= k + 1 then
        error("wharf.request_metrics: bucket of " .. m .. " " .. b .. " is " .. f(b) .. ", of just above " .. f(above))
      end
    end
    if f(0) ~= 1 then
      error("wharf.request_metrics: bucket of " .. m .. " 0 is " .. f(0))
    end
  end
end
check_buckets()

-- The entry of a series, from the dict (and added to it, below the limit) on this worker's first
-- request of it. Nested tables rather than one key: no string is built for a request.
local function series_entry(route, method, class, canary)
  local by_method = known[route]
  if not by_method then
    by_method = {}
    known[route] = by_method
  end
  local by_class = by_method[method]
  if not by_class then
    by_class = {}
    by_method[method] = by_class
  end
  local by_canary = by_class[class]
  if not by_canary then
    by_canary = {}
    by_class[class] = by_canary
  end
  local e = by_canary[canary]
  if e then
    return e
  end
  local series = route .. " " .. method .. " " .. class .. " " .. canary
  local id = dict:get("s:" .. series)
  if not id then
    if (dict:get("series") or 0) >= max_series then
      dict:incr("overflow", 1, 0)
      return nil
    end
    local fresh = dict:incr("next", 1, 0)
    if dict:add("s:" .. series, fresh) then
      dict:set("n:" .. fresh, series)
      dict:incr("series", 1, 0)
      id = fresh
    else
      -- Another worker added it first (or the dict is full: then nothing is counted).
      id = dict:get("s:" .. series)
      if not id then
        return nil
      end
    end
  end
  e = new_entry(id)
  by_canary[canary] = e
  return e
end

-- $upstream_response_time: "0.004", or one figure per attempt ("0.004, 0.002"; " : " between
-- internal redirects); "-" for an attempt without a response. The sum of the attempts, or nil.
local function upstream_seconds(raw)
  if not raw or raw == "" then
    return nil
  end
  local v = tonumber(raw)
  if v then
    return v
  end
  local sum, any = 0, false
  for figure in raw:gmatch("[%d.]+") do
    sum = sum + (tonumber(figure) or 0)
    any = true
  end
  return any and sum or nil
end

-- Log phase of every request (nginx.conf's http-level log_by_lua_block). Written for LuaJIT's
-- compiler: four variable reads (each a lookup by name and a string), fields by name, no loop.
function _M.log()
  local var = ngx.var
  local route = var.wharf_metrics
  if route == "" or not route then
    return -- not an Ingress's or a route's location: the default server, the agent's sockets
  end
  local method = ngx.req.get_method()
  if not METHODS[method] then
    method = "OTHER"
  end
  local class = CLASSES[ngx.status] or "other"
  local canary = ""
  if byte(route, 1) == DOT then
    -- A location with a canary: was this request sent to it?
    local name = var.wharf_canary_upstream
    if name ~= "" and ngx.ctx.wharf_name == name then
      canary = name
    end
  end
  local e = series_entry(route, method, class, canary)
  if not e then
    return
  end
  local counts, i, v
  v = ngx.now() - ngx.req.start_time()
  counts, i = e.d, time_bucket(v)
  counts[i] = counts[i] + 1
  e.ds = e.ds + v
  v = upstream_seconds(var.upstream_response_time)
  if v then
    counts, i = e.u, time_bucket(v)
    counts[i] = counts[i] + 1
    e.us = e.us + v
  end
  v = tonumber(var.request_length)
  if v then
    counts, i = e.q, length_bucket(v)
    counts[i] = counts[i] + 1
    e.qs = e.qs + v
  end
  v = tonumber(var.bytes_sent)
  if v then
    counts, i = e.r, sent_bucket(v)
    counts[i] = counts[i] + 1
    e.rs = e.rs + v
  end
  if not e.dirty then
    e.dirty = true
    dirty[#dirty + 1] = e
  end
  if exiting then
    flush()
  elseif not timer_started then
    if ngx.timer.every(1, on_timer) then
      timer_started = true
    else
      -- No timer in a worker that is exiting already: this request goes to the dict now.
      exiting = ngx.worker.exiting()
      flush()
    end
  end
end

-- GET /request-metrics on the agent's control socket: the bucket bounds, then one line per series
-- ("<series>\t<metric>=<count>,<count>,...,<sum>\t..."; a metric without observations is left out),
-- then the totals.
function _M.dump()
  flush() -- this worker's counts; the other workers' are at most a second old
  local out = {}
  for _, m in ipairs(ORDER) do
    out[#out + 1] = "bounds\t" .. m .. "\t" .. concat(BOUNDS[m], ",")
  end
  local last = dict:get("next") or 0
  for id = 1, last do
    local series = dict:get("n:" .. id)
    if series then
      local line = { series }
      for _, m in ipairs(ORDER) do
        local counts, any = {}, false
        for i = 1, #BOUNDS[m] + 1 do
          local c = dict:get(id .. m .. i) or 0
          if c > 0 then
            any = true
          end
          counts[i] = c
        end
        if any then
          counts[#counts + 1] = dict:get(id .. SUM[m]) or 0
          line[#line + 1] = m .. "=" .. concat(counts, ",")
        end
      end
      if #line > 1 then
        out[#out + 1] = "series\t" .. concat(line, "\t")
      end
    end
  end
  out[#out + 1] = "overflow\t" .. (dict:get("overflow") or 0)
  out[#out + 1] = "count\t" .. (dict:get("series") or 0)
  out[#out + 1] = "max\t" .. max_series
  ngx.say(concat(out, "\n"))
end

return _M
