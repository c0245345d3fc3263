-- wharf's certificate store: TLS certificates chosen at each handshake by the name the client asks
-- for (SNI), without a reload. Loaded once per NGINX master (init_by_lua).
--
-- The shared dict `wharf_certificates` holds, per name (`cafe.example.com`, `*.example.com`,
-- `_default`):
--   "v:" .. name              the current version: a number from the dict-wide counter "#", new on
--                             every write, so that a worker's parsed copy is used only while current
--   "p:" .. name .. "@" .. v  the PEM certificate chain followed by its PEM key, at version v
--   "o:" .. name .. "@" .. v  the DER OCSP response stapled to it (enable-ocsp), fetched by the agent
--                             and checked here before it is stored, with the dict's expiry set to
--                             its nextUpdate; a new version of the certificate leaves it behind
-- A write stores the new content under its own key before it switches the version: when the dict is
-- full, the write fails and the previous certificate is still there, whole.
-- The agent writes them through the control socket; every worker sees a write at once, and the dict
-- survives reloads. Nothing here logs a certificate or a key.
local ssl = require "ngx.ssl"
local ocsp = require "ngx.ocsp"

local ngx = ngx
local dict = ngx.shared.wharf_certificates

local _M = {}

-- Per worker: name -> { version, cert, key } (cert and key parsed, nil when they do not parse).
local cache = {}

local KEY_START = "%-%-%-%-%-BEGIN [A-Z ]*PRIVATE KEY%-%-%-%-%-"

-- The certificate chain and the key of a stored value, parsed; or nil and why.
local function parse(pem)
  local cut = pem:find(KEY_START)
  if not cut or cut == 1 then
    return nil, nil, "expected a PEM certificate chain followed by a PEM private key"
  end
  local cert, err = ssl.parse_pem_cert(pem:sub(1, cut - 1))
  if not cert then
    return nil, nil, "the certificate does not parse: " .. tostring(err)
  end
  local key, kerr = ssl.parse_pem_priv_key(pem:sub(cut))
  if not key then
    return nil, nil, "the key does not parse: " .. tostring(kerr)
  end
  return cert, key
end

-- The current entry of `name`, parsed once per worker and version; nil when none is stored.
local function lookup(name)
  local version = dict:get("v:" .. name)
  if not version then
    return nil
  end
  local entry = cache[name]
  if entry and entry.version == version then
    return entry
  end
  local pem = dict:get("p:" .. name .. "@" .. version)
  if not pem then
    -- A write switched the version and removed this content since the version was read.
    version = dict:get("v:" .. name)
    if not version then
      return nil
    end
    pem = dict:get("p:" .. name .. "@" .. version)
  end
  entry = { name = name, version = version }
  if pem then
    local cert, key, why = parse(pem)
    if cert then
      entry.cert, entry.key = cert, key
    else
      ngx.log(ngx.ERR, "wharf: certificate ", name, " cannot be used: ", why)
    end
  end
  cache[name] = entry
  return entry
end

-- The entry for a server name: the name itself, else the wildcard one label up (`*.example.com`
-- serves `a.example.com`, not `a.b.example.com`), as the host rules match.
local function for_name(name)
  local entry = lookup(name)
  if entry and entry.cert then
    return entry
  end
  local dot = name:find(".", 1, true)
  if dot and dot > 1 then
    entry = lookup("*" .. name:sub(dot))
    if entry and entry.cert then
      return entry
    end
  end
  return nil
end

-- ssl_certificate_by_lua of every TLS server: the certificate of the name the client asked for, else
-- the default certificate, else the handshake is refused (as ssl_reject_handshake does).
function _M.serve()
  local name = ssl.server_name()
  local entry = name and for_name(name:lower())
  if not entry then
    entry = lookup("_default")
    if not (entry and entry.cert) then
      return ngx.exit(ngx.ERROR)
    end
  end
  local ok, err = ssl.clear_certs()
  if ok then
    ok, err = ssl.set_cert(entry.cert)
  end
  if ok then
    ok, err = ssl.set_priv_key(entry.key)
  end
  if not ok then
    ngx.log(ngx.ERR, "wharf: cannot serve certificate for ", tostring(name), ": ", err)
    return ngx.exit(ngx.ERROR)
  end
  -- The OCSP response the agent stored for this version, if any: memory only, never the network.
  local staple = dict:get("o:" .. entry.name .. "@" .. entry.version)
  if staple then
    ok, err = ocsp.set_ocsp_status_resp(staple)
    if not ok then
      ngx.log(ngx.WARN, "wharf: cannot staple the OCSP response of ", entry.name, ": ", err)
    end
  end
end

-- Called from init_by_lua (every start and reload): the version counter, kept if it exists.
function _M.init()
  dict:safe_add("#", 0)
end

local function answer(status, text)
  ngx.status = status
  ngx.say(text)
  return ngx.exit(status)
end

-- PUT /certificates/<name> (body: the PEM chain, then the PEM key), DELETE /certificates/<name>.
-- 507 when the dict is full: nothing changed, the previous certificate keeps serving.
function _M.control(name)
  local method = ngx.req.get_method()
  if method == "PUT" then
    ngx.req.read_body()
    local body = ngx.req.get_body_data()
    if not body then
      return answer(400, "body: Required value: the PEM certificate chain, then the PEM key")
    end
    local cert, _, why = parse(body)
    if not cert then
      return answer(400, "body: Invalid value: " .. why)
    end
    local version = dict:incr("#", 1)
    if not version then
      return answer(500, "certificate version counter missing")
    end
    -- The new content under its own key, then the version that makes workers use it, then the old
    -- content goes. safe_set never evicts another entry to make room.
    local previous = dict:get("v:" .. name)
    local stored, err = dict:safe_set("p:" .. name .. "@" .. version, body)
    if not stored then
      return answer(507, "certificate store full: " .. tostring(err))
    end
    stored, err = dict:safe_set("v:" .. name, version)
    if not stored then
      dict:delete("p:" .. name .. "@" .. version)
      return answer(507, "certificate store full: " .. tostring(err))
    end
    if previous then
      dict:delete("p:" .. name .. "@" .. previous)
      dict:delete("o:" .. name .. "@" .. previous)
    end
    ngx.say("ok")
  elseif method == "DELETE" then
    local previous = dict:get("v:" .. name)
    dict:delete("v:" .. name)
    if previous then
      dict:delete("p:" .. name .. "@" .. previous)
      dict:delete("o:" .. name .. "@" .. previous)
    end
    ngx.say("ok")
  else
    return ngx.exit(405)
  end
end

-- PUT /certificates/<name>/ocsp?ttl=<seconds> (body: the DER OCSP response in base64), DELETE
-- /certificates/<name>/ocsp. A response is stored for the certificate stored now, only when
-- ngx.ocsp.validate_ocsp_response finds it signed, about this very certificate, good and current:
-- 422 otherwise, so a response fetched for a certificate replaced meanwhile is refused.
function _M.control_ocsp(name)
  local method = ngx.req.get_method()
  local version = dict:get("v:" .. name)
  if method == "DELETE" then
    if version then
      dict:delete("o:" .. name .. "@" .. version)
    end
    ngx.say("ok")
    return
  end
  if method ~= "PUT" then
    return ngx.exit(405)
  end
  local pem = version and dict:get("p:" .. name .. "@" .. version)
  if not pem then
    return answer(404, "certificate: Not found: no certificate " .. name)
  end
  local ttl = tonumber(ngx.var.arg_ttl)
  if not ttl or ttl < 1 or ttl > 31536000 then
    return answer(400, "ttl: Invalid value: expected seconds between 1 and 31536000")
  end
  ngx.req.read_body()
  local body = ngx.req.get_body_data()
  local der = body and ngx.decode_base64(body)
  if not der or #der == 0 then
    return answer(400, "body: Invalid value: expected the DER OCSP response in base64")
  end
  local chain, err = ssl.cert_pem_to_der(pem:sub(1, pem:find(KEY_START) - 1))
  if not chain then
    return answer(500, "the stored certificate does not convert to DER: " .. tostring(err))
  end
  local valid, why = ocsp.validate_ocsp_response(der, chain)
  if not valid then
    return answer(422, "OCSP response refused: " .. tostring(why))
  end
  local stored, serr = dict:safe_set("o:" .. name .. "@" .. version, der, ttl)
  if not stored then
    return answer(507, "certificate store full: " .. tostring(serr))
  end
  ngx.say("ok")
end

-- GET /certificates: the stored names, one a line (never their content).
function _M.control_list()
  local keys = dict:get_keys(0)
  local names = {}
  for _, k in ipairs(keys) do
    if k:sub(1, 2) == "v:" then
      names[#names + 1] = k:sub(3)
    end
  end
  table.sort(names)
  for _, n in ipairs(names) do
    ngx.say(n)
  end
end

return _M
