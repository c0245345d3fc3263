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
local floor = math.floor
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
local CLASSES = { "1xx", "2xx", "3xx", "4xx", "5xx" }

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

local function new_entry(id)
  local e = { id = id, n = 0 }
  for _, m in ipairs(ORDER) do
    local counts = {}
    for i = 1, #BOUNDS[m] + 1 do
      counts[i] = 0
    end
    e[m] = counts
    e[SUM[m]] = 0
  end
  return e
end

-- Adds this worker's counts to the dict and clears them.
local function flush()
  local pending = dirty
  dirty = {}
  for e in pairs(pending) do
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

local function observe(e, m, v)
  if not v then
    return
  end
  local counts = e[m]
  local bounds = BOUNDS[m]
  local i = #bounds + 1
  for k = 1, #bounds do
    if v <= bounds[k] then
      i = k
      break
    end
  end
  counts[i] = counts[i] + 1
  local sum_key = SUM[m]
  e[sum_key] = e[sum_key] + v
end

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

-- Log phase of every request (nginx.conf's http-level log_by_lua_block).
function _M.log()
  local var = ngx.var
  local route = var.wharf_metrics
  if not route or route == "" then
    return -- not an Ingress's or a route's location: the default server, the agent's sockets
  end
  local method = ngx.req.get_method()
  if not METHODS[method] then
    method = "OTHER"
  end
  local class = CLASSES[floor(ngx.status / 100)] or "other"
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
  observe(e, "d", ngx.now() - ngx.req.start_time())
  observe(e, "u", upstream_seconds(var.upstream_response_time))
  observe(e, "q", tonumber(var.request_length))
  observe(e, "r", tonumber(var.bytes_sent))
  dirty[e] = true
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
