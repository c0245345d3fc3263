-- One endpoint address, "IPv4:port" or "[IPv6]:port", checked as strictly as the agent checks it
-- (src/protocol/endpoint-address.ts; tests/agent/endpoint-addresses.test.ts runs one table of cases
-- through both): IPv4 as a dotted quad without leading zeros (NGINX and inet_aton disagree on
-- "010"), IPv6 as 8 groups of 1-4 hex digits with at most one "::" and an optional IPv4 tail, no
-- zone index, a port from 1 to 65535 without leading zeros.
--
-- parse() returns the host as ngx.balancer.set_current_peer takes it. For IPv6 that is the
-- bracketed form: set_current_peer hands the address to NGINX's URL parser with the port as the
-- default port, and that parser reads a bare "::1" as host ":" with port ":1" ("invalid port").
local tonumber = tonumber
local find, sub = string.find, string.sub
local re_find = ngx.re.find

-- Valid endpoints in one PCRE test each (compiled once, JIT): IPv4, and IPv6 written in hex groups
-- only (no IPv4 tail). Lua patterns run in LuaJIT's interpreter, which made a PUT of 10,000 IPv6
-- endpoints several times slower; these are the common cases of large sets. Anything they do not
-- accept goes through the checks below, which decide and say why. (The IPv6 expression agrees
-- with node:net's isIPv6 on such addresses; the test table runs through both.)
local OCTET = [[(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)]]
local PORT = [[(?:[1-9]\d{0,3}|[1-5]\d{4}|6[0-4]\d{3}|65[0-4]\d\d|655[0-2]\d|6553[0-5])]]
local H = "[0-9a-fA-F]{1,4}"
local V6 = "(?:(?:H:){7}H|(?:H:){1,7}:|(?:H:){1,6}:H|(?:H:){1,5}(?::H){1,2}|(?:H:){1,4}(?::H){1,3}"
  .. "|(?:H:){1,3}(?::H){1,4}|(?:H:){1,2}(?::H){1,5}|H:(?::H){1,6}|:(?:(?::H){1,7}|:))"
local VALID_IPV4 = "^" .. OCTET .. [[(?:\.]] .. OCTET .. "){3}:" .. PORT .. [[\z]]
local VALID_IPV6 = [[^\[]] .. V6:gsub("H", H) .. [[\]:]] .. PORT .. [[\z]]

local _M = {}

local function ipv4_ok(s)
  local a, b, c, d = s:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then
    return false, s .. " is not an IPv4 address"
  end
  for _, octet in ipairs({ a, b, c, d }) do
    if #octet > 1 and octet:sub(1, 1) == "0" then
      return false, s .. " has the zero-padded part " .. octet .. ", which some parsers read as octal"
    end
    if #octet > 3 or tonumber(octet) > 255 then
      return false, s .. " is not an IPv4 address (" .. octet .. " is above 255)"
    end
  end
  return true
end

-- Groups in `part` (groups separated by single colons; "" has none), or nil. `last`: the part ends
-- the address, so its last group may be an IPv4 address (two groups).
local function groups(part, last)
  if part == "" then
    return 0
  end
  local pieces = {}
  for piece in (part .. ":"):gmatch("([^:]*):") do
    pieces[#pieces + 1] = piece
  end
  local n = 0
  for k, piece in ipairs(pieces) do
    if piece:match("^%x%x?%x?%x?$") then
      n = n + 1
    elseif last and k == #pieces and piece:find(".", 1, true) and ipv4_ok(piece) then
      n = n + 2
    else
      return nil
    end
  end
  return n
end

local function ipv6_ok(s)
  if #s > 45 or not s:match("^[%x:%.]+$") then
    return false
  end
  local gap = s:find("::", 1, true)
  if not gap then
    return groups(s, true) == 8
  end
  local head, tail = s:sub(1, gap - 1), s:sub(gap + 2)
  if tail:find("::", 1, true) then
    return false
  end
  local nh, nt = groups(head, false), groups(tail, true)
  return nh ~= nil and nt ~= nil and nh + nt <= 7
end

-- The host (IPv6 in brackets) and port of an endpoint, or nil and the reason it is refused.
function _M.parse(token)
  if re_find(token, VALID_IPV4, "jo") then
    local colon = find(token, ":", 1, true)
    return sub(token, 1, colon - 1), tonumber(sub(token, colon + 1))
  end
  if re_find(token, VALID_IPV6, "jo") then
    local close = find(token, "]", 1, true)
    return sub(token, 1, close), tonumber(sub(token, close + 2))
  end
  local host, port = token:match("^([%d%.]+):(%d+)$")
  if host then
    local ok, why = ipv4_ok(host)
    if not ok then
      return nil, why
    end
  else
    local inner
    inner, port = token:match("^%[([^%]]+)%]:(%d+)$")
    if not inner then
      return nil, "expected IPv4:port or [IPv6]:port"
    end
    if inner:find("%", 1, true) then
      return nil, "[" .. inner .. "] has a zone index, which NGINX cannot connect to"
    end
    if not ipv6_ok(inner) then
      return nil, "[" .. inner .. "] is not an IPv6 address"
    end
    host = "[" .. inner .. "]"
  end
  if #port > 1 and port:sub(1, 1) == "0" then
    return nil, "port " .. port .. " has a leading zero"
  end
  local n = tonumber(port)
  if #port > 5 or n < 1 or n > 65535 then
    return nil, "port " .. port .. " is not between 1 and 65535"
  end
  return host, n
end

return _M
