-- wharf's endpoint store and balancer, loaded once per NGINX master (init_by_lua).
--
-- Endpoints live in the shared dict `wharf_endpoints`: key = upstream name, value = the endpoints
-- separated by spaces ("10.0.0.1:8080 [fd00::1]:8080"). The agent writes them through the control
-- socket; every worker sees a write at once, and the dict survives reloads.
--
-- Locations choose what to route to with variables (set before any `rewrite ... break`):
--   $wharf_upstream          the upstream name (required)
--   $wharf_hash_key          optional; when not empty, a consistent (rendezvous) hash picks the peer
--   $wharf_canary_upstream   optional canary upstream, with $wharf_canary_weight and
--   $wharf_canary_weight_total (default 100): the share of requests that go to the canary
--   $wharf_default_upstream  optional (default-backend); used when the chosen upstream has no
--                            ready endpoint, as ingress-nginx switches such a location to it
local balancer = require "ngx.balancer"
local endpoint_address = require "wharf.endpoint_address"

local ngx = ngx
local dict = ngx.shared.wharf_endpoints
local crc32 = ngx.crc32_long
local random = math.random
local tonumber = tonumber
local bit = require "bit"
local band, bxor, rshift, tobit = bit.band, bit.bxor, bit.rshift, bit.tobit

-- (a * b) mod 2^32 for 32-bit a and b, exact in doubles: a is split in 16-bit halves so no
-- partial product exceeds 2^53.
local function mul32(a, b)
  local lo = band(a, 0xffff) * b
  local hi = tobit(rshift(a, 16) * b) * 65536
  return tobit(lo + hi)
end

-- murmur3's finalizer: crc32 is linear, so without this the rendezvous scores of similar keys
-- ("user1", "user2") rank the endpoints alike and pile them onto one endpoint.
local function mix(h)
  h = bxor(h, rshift(h, 16))
  h = mul32(h, 0x85ebca6b)
  h = bxor(h, rshift(h, 13))
  h = mul32(h, 0xc2b2ae35)
  return bxor(h, rshift(h, 16))
end

local _M = {}

-- Per-worker cache of parsed endpoint lists, keyed by upstream, with the version they were read at.
local cache = {}
-- Per-worker round-robin positions.
local cursor = {}

-- Beside each upstream's endpoints, the dict holds a version (key VERSION .. name) that every write
-- sets after storing the endpoints, from one counter (key SEQUENCE) so that a version is never
-- reused, not even after a delete. A request reads that number, not the endpoint string: getting a
-- string out of a shared dict copies it, and with 1,000 endpoints that was 20 KB on every request.
-- A name cannot start with "#" (the control location's pattern), so these keys never collide.
local VERSION = "#v "
local SEQUENCE = "#sequence"
local HASH = ("#"):byte()
local version_keys = {}
local function version_key(name)
  local k = version_keys[name]
  if not k then
    k = VERSION .. name
    version_keys[name] = k
  end
  return k
end

-- The next version; safe_add/incr never evict other keys to make room (add with init would).
local function next_version()
  local v, err = dict:incr(SEQUENCE, 1)
  if v then
    return v
  end
  if err ~= "not found" then
    return nil, err
  end
  local ok, add_err = dict:safe_add(SEQUENCE, 1)
  if ok then
    return 1
  end
  if add_err ~= "exists" then
    return nil, add_err
  end
  return dict:incr(SEQUENCE, 1)
end

-- The peers of a dict value. The control socket stored only checked endpoints; they are parsed with
-- the same strict grammar here, which gives IPv6 hosts in brackets, the form set_current_peer needs
-- (without them it fails with "invalid port" for every IPv6 endpoint).
local function parse(raw)
  local peers = {}
  for token in raw:gmatch("%S+") do
    local host, port = endpoint_address.parse(token)
    if host then
      peers[#peers + 1] = { host = host, port = port, id = token }
    end
  end
  return peers
end

-- The endpoints of an upstream, re-read from the dict only when its version moved. Reading the
-- version before the endpoints means a write racing with the read is at worst read again by the
-- next request, never missed: the cache never holds a version newer than its endpoints.
local function peers_of(name)
  if not name or name == "" then
    return nil
  end
  local version = dict:get(version_key(name))
  local entry = cache[name]
  if version ~= nil and entry and entry.version == version then
    return entry.peers
  end
  local raw = dict:get(name)
  if not raw or raw == "" then
    cache[name] = nil
    return nil
  end
  if version == nil then
    -- Written before versions existed (NGINX reloaded into this code keeps its dict): compare the
    -- string itself until the next write.
    if entry and entry.raw == raw then
      return entry.peers
    end
    local peers = parse(raw)
    cache[name] = { raw = raw, peers = peers }
    return peers
  end
  local peers = parse(raw)
  cache[name] = { version = version, peers = peers }
  return peers
end

local function choose_upstream()
  local primary = ngx.var.wharf_upstream
  local canary = ngx.var.wharf_canary_upstream
  if canary and canary ~= "" then
    local weight = tonumber(ngx.var.wharf_canary_weight) or 0
    local total = tonumber(ngx.var.wharf_canary_weight_total) or 100
    if weight > 0 and total > 0 and random() * total < weight and peers_of(canary) then
      return canary
    end
  end
  return primary
end

-- The upstream to route to and its peers: the balancer's choice, or the location's default backend
-- when the choice has no ready endpoint (nil peers when neither has one).
local function resolve()
  local name = choose_upstream()
  local peers = peers_of(name)
  if not peers or #peers == 0 then
    local fallback = ngx.var.wharf_default_upstream
    if fallback and fallback ~= "" then
      local alt = peers_of(fallback)
      if alt and #alt > 0 then
        return fallback, alt
      end
    end
  end
  return name, peers
end

-- Access phase of every request: decides the upstream once (so the canary choice is stable across
-- retries) and answers 503 when it has no ready endpoint, without trying any connection.
function _M.access()
  local name, peers = resolve()
  if not name or name == "" then
    return -- a location that does not proxy to a Service
  end
  if name == "wharf.invalid" then
    -- A weighted share whose backend cannot be used (src/render/route-view.ts INVALID_UPSTREAM).
    return ngx.exit(500)
  end
  if not peers or #peers == 0 then
    ngx.status = 503
    ngx.header["Content-Type"] = "text/plain"
    ngx.say("503 Service Unavailable: no ready endpoints")
    return ngx.exit(503)
  end
  local ctx = ngx.ctx
  ctx.wharf_name = name
  ctx.wharf_peers = peers
end

local function pick(ctx, peers)
  local tried = ctx.wharf_tried
  local key = ngx.var.wharf_hash_key
  if key and key ~= "" then
    -- Rendezvous hashing: the same key keeps its peer while that peer exists.
    local best, best_score
    for i = 1, #peers do
      local p = peers[i]
      if not (tried and tried[p.id]) then
        local score = mix(crc32(key .. "|" .. p.id))
        if not best_score or score > best_score then
          best, best_score = p, score
        end
      end
    end
    return best
  end
  local n = #peers
  local name = ctx.wharf_name
  local start = cursor[name] or random(n)
  for step = 1, n do
    local i = (start + step - 1) % n + 1
    local p = peers[i]
    if not (tried and tried[p.id]) then
      cursor[name] = i
      return p
    end
  end
  return nil
end

-- NGINX's "no live upstreams" (ngx_http_upstream.c answers it 502): what get_peer returns when no
-- peer is left to try. lua-nginx-module passes this exit code through from balancer_by_lua; any
-- status code above 0 would become NGX_ERROR, a 500.
local NGX_BUSY = -3

-- Balancer phase: picks a peer; on a retry (the previous peer failed in a way the location's
-- proxy_next_upstream names: by default a refused connection or a timeout) picks another one of the
-- same upstream that this request has not tried yet.
--
-- Retries: the first call asks for one more try per other endpoint, and NGINX cuts that down to the
-- location's proxy_next_upstream_tries (grpc_next_upstream_tries), which counts every attempt, the
-- first included (the skeleton sets 3; 0 leaves one attempt per endpoint). Whether a failure is
-- retried at all is NGINX's proxy_next_upstream decision, never this code's.
--
-- A peer NGINX refuses to set (set_current_peer fails: no connection is attempted, so no try is
-- used) is skipped and counted as tried, and the next one is set in the same call; it is logged
-- once per worker and endpoint set. When no peer is left (every one refused, or tried by earlier
-- attempts of this request), the request gets 502, as NGINX answers when every server of an
-- upstream failed. An upstream without endpoints never gets here: the access phase answered 503.
function _M.balance()
  local ctx = ngx.ctx
  local peers = ctx.wharf_peers
  if not peers then
    -- Internal redirect or a race with an endpoint removal: look the upstream up again.
    ctx.wharf_name, peers = resolve()
    ctx.wharf_peers = peers
  end
  if not peers or #peers == 0 then
    ngx.log(ngx.ERR, "wharf: no endpoints for upstream ", tostring(ctx.wharf_name))
    return ngx.exit(ngx.ERROR)
  end
  local state = balancer.get_last_failure()
  if state == nil then
    if #peers > 1 then
      balancer.set_more_tries(#peers - 1)
    end
  end
  local tried = ctx.wharf_tried or {}
  ctx.wharf_tried = tried
  while true do
    local p = pick(ctx, peers)
    if not p then
      ngx.log(ngx.ERR, "wharf: no endpoint of upstream ", tostring(ctx.wharf_name), " left to try")
      return ngx.exit(NGX_BUSY)
    end
    tried[p.id] = true
    local ok, err = balancer.set_current_peer(p.host, p.port)
    if ok then
      return
    end
    if not p.refused then
      p.refused = true
      ngx.log(ngx.ERR, "wharf: cannot set peer ", p.id, " of upstream ", tostring(ctx.wharf_name), ": ", err,
        "; skipped (logged once per worker)")
    end
  end
end

-- The endpoints of a PUT body, or nil and what is wrong with the first bad one (its index from 0,
-- its value and why), checked as strictly as the agent checks them (wharf.endpoint_address).
local function endpoint_tokens(body)
  local tokens = {}
  for token in body:gmatch("%S+") do
    local host, why = endpoint_address.parse(token)
    if not host then
      return nil, "endpoints[" .. #tokens .. "]: Invalid value: \"" .. token .. "\": " .. why
    end
    tokens[#tokens + 1] = token
  end
  return tokens
end

-- Stores checked endpoints under `name`, then a new version of it; nil and why when there is no room.
local function store(name, tokens)
  local stored, err = dict:safe_set(name, table.concat(tokens, " "))
  if stored then
    -- After the endpoints: a reader that sees the new version finds the new endpoints.
    local version
    version, err = next_version()
    stored = version ~= nil
    if stored then
      stored, err = dict:safe_set(version_key(name), version)
    end
    if not stored then
      -- No room for the version: without one, readers compare the endpoints themselves.
      dict:delete(version_key(name))
    end
  end
  return stored, err
end

local function forget(name)
  dict:delete(version_key(name))
  dict:delete(name)
end

-- PUT /endpoints/<name> (body: endpoints separated by white space), DELETE /endpoints/<name>,
-- GET /endpoints/<name>.
function _M.control_endpoints(name)
  local method = ngx.req.get_method()
  if method == "PUT" then
    ngx.req.read_body()
    local body = ngx.req.get_body_data() or ""
    local tokens, bad = endpoint_tokens(body)
    if not tokens then
      ngx.status = 400
      ngx.say(bad)
      return ngx.exit(400)
    end
    local stored, err = store(name, tokens)
    if not stored then
      ngx.status = 507
      ngx.say("cannot store endpoints: ", err)
      return ngx.exit(507)
    end
    ngx.say("ok")
  elseif method == "DELETE" then
    forget(name)
    ngx.say("ok")
  elseif method == "GET" then
    local raw = dict:get(name)
    if raw == nil then
      return ngx.exit(404)
    end
    ngx.say(raw)
  else
    return ngx.exit(405)
  end
end

-- PUT /endpoints: many upstreams in one request (a complete batch holds thousands), one line each:
-- `put <name> <endpoints...>` or `delete <name>`. The answer has one line per line, in order: `ok`,
-- or the status and the reason (400: a bad name or endpoint; 507: no room), as /endpoints/<name>.
local function put_many()
  ngx.req.read_body()
  local body = ngx.req.get_body_data() or ""
  local answers = {}
  for line in body:gmatch("[^\n]+") do
    local verb, name, rest = line:match("^(%l+) (%S+)%s*(.*)$")
    local answer
    if not name or #name > 253 or not name:find("^[a-z0-9][a-z0-9.-]*$") then
      answer = "400 not an upstream name"
    elseif verb == "delete" and rest == "" then
      forget(name)
      answer = "ok"
    elseif verb == "put" then
      local tokens, bad = endpoint_tokens(rest)
      if not tokens then
        answer = "400 " .. bad
      else
        local stored, err = store(name, tokens)
        answer = stored and "ok" or ("507 cannot store endpoints: " .. tostring(err))
      end
    else
      answer = "400 expected put or delete"
    end
    answers[#answers + 1] = answer
  end
  ngx.say(table.concat(answers, "\n"))
end

-- GET /endpoints: every upstream and its endpoints, one line each. PUT /endpoints: see put_many.
function _M.control_list()
  local method = ngx.req.get_method()
  if method == "PUT" then
    return put_many()
  elseif method ~= "GET" then
    return ngx.exit(405)
  end
  local keys = dict:get_keys(0)
  table.sort(keys)
  for _, k in ipairs(keys) do
    if k:byte(1) ~= HASH then -- wharf's own keys (versions, the sequence), not upstreams
      ngx.say(k, " ", dict:get(k) or "")
    end
  end
end

return _M
