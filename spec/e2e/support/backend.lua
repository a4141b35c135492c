-- spec/e2e/support/backend.lua: the e2e specs' handle on what spec/e2e/up.sh started: the
-- real Medusa backend's URL, fresh payment collections (rows inserted with psql, as the
-- backend stores them), the database's own view of a collection, the requests the backend
-- received (its starter's GET /__e2e/requests) and the fault-injecting proxy in front of it.
-- It talks through psql, the curl CLI and lua-cjson, never through medusa-lua, so a bug in
-- the client cannot vouch for itself. Plain Lua 5.1+ (busted today, resty later).
local cjson = require "cjson"

local Backend = {}

local function shq(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function sql_literal(s)
  return "'" .. tostring(s):gsub("'", "''") .. "'"
end

local function run(cmd)
  local pipe = assert(io.popen(cmd .. ' 2>&1; echo "__rc=$?"', "r"))
  local out = pipe:read("*a")
  pipe:close()
  local rc = tonumber(out:match("__rc=(%d+)%s*$"))
  return (out:gsub("__rc=%d+%s*$", "")), rc
end

local function repo_root()
  local source = debug.getinfo(1, "S").source
  local dir = source:sub(1, 1) == "@" and source:sub(2):match("^(.*)/spec/e2e/support/[^/]*$")
  return dir or "."
end

-- The env file up.sh writes; variables already in the environment win.
local env
function Backend.env()
  if env then return env end
  env = {}
  local state = os.getenv("E2E_STATE") or (repo_root() .. "/build/e2e")
  local f = io.open(state .. "/run/env", "r")
  if f then
    for line in f:lines() do
      local k, v = line:match("^([%w_]+)=(.*)$")
      if k then env[k] = v end
    end
    f:close()
  end
  for _, k in ipairs { "E2E_BASE_URL", "E2E_PROXY_URL", "E2E_PG_HOST", "E2E_PG_PORT",
    "E2E_PG_USER", "E2E_PG_DB", "E2E_REGION_ID", "E2E_ADMIN_TOKEN" } do
    env[k] = os.getenv(k) or env[k]
    if not env[k] then
      error(("e2e: %s is not set: bring the backend up first (make e2e, or make e2e-up)"):format(k), 2)
    end
  end
  return env
end

function Backend.url() return Backend.env().E2E_BASE_URL end
function Backend.proxy_url() return Backend.env().E2E_PROXY_URL end
function Backend.region_id() return Backend.env().E2E_REGION_ID end
-- The admin API token up.sh set on the e2e admin user (for spec/e2e/support/admin.lua).
function Backend.admin_token() return Backend.env().E2E_ADMIN_TOKEN end

-- Runs one SQL statement; returns its output (unaligned, tuples only), raising on error.
function Backend.sql(statement)
  local e = Backend.env()
  local out, rc = run(("PGCONNECT_TIMEOUT=10 psql -X -q -tA -v ON_ERROR_STOP=1 -h %s -p %s -U %s -d %s -c %s")
    :format(shq(e.E2E_PG_HOST), shq(e.E2E_PG_PORT), shq(e.E2E_PG_USER), shq(e.E2E_PG_DB), shq(statement)))
  if rc ~= 0 then error("e2e: psql failed: " .. out, 2) end
  return (out:gsub("%s+$", ""))
end

-- A fresh `not_paid` payment collection of `amount` (default 5000) in the e2e region: the
-- row an order edit's "request confirmation" would store. Returns its id.
function Backend.new_collection(amount)
  return Backend.sql(([[
    INSERT INTO payment_collection
      (id, type, status, description, amount, currency_code, region_id, created_by, metadata)
    VALUES ('paycol_' || upper(substr(replace(gen_random_uuid()::text, '-', ''), 1, 26)),
      'order_edit', 'not_paid', 'medusa-lua e2e fixture', %d, 'usd', %s, 'usr_medusa_lua_e2e', '{}')
    RETURNING id]]):format(amount or 5000, sql_literal(Backend.region_id())))
end

-- The database's view of a collection: {status, amount, authorized_amount, sessions =
-- {{id, status, amount}, ...} (by amount, then id), payments = count}.
function Backend.collection_row(id)
  local out = Backend.sql(([[
    SELECT json_build_object(
      'status', pc.status, 'amount', pc.amount, 'authorized_amount', pc.authorized_amount,
      'sessions', COALESCE((SELECT json_agg(json_build_object('id', ps.id, 'status', ps.status,
          'amount', ps.amount) ORDER BY ps.amount, ps.id)
        FROM payment_collection_sessions pcs JOIN payment_session ps ON ps.id = pcs.payment_session_id
        WHERE pcs.payment_collection_id = pc.id), '[]'::json),
      'payments', (SELECT count(*) FROM payment_collection_payments pcp
        WHERE pcp.payment_collection_id = pc.id))
    FROM payment_collection pc WHERE pc.id = %s]]):format(sql_literal(id)))
  if out == "" then return nil end
  return cjson.decode(out)
end

-- HTTP through the curl CLI (never through medusa-lua): returns the decoded JSON body.
local function curl_json(method, url, body)
  local cmd = ("curl -sS -m 15 -X %s -H 'Content-Type: application/json' %s %s"):format(
    method, body and ("--data-binary " .. shq(cjson.encode(body))) or "", shq(url))
  local out, rc = run(cmd)
  if rc ~= 0 then error(("e2e: %s %s failed: %s"):format(method, url, out), 2) end
  return cjson.decode(out)
end

-- The /store requests the backend itself received, oldest first: {n, method, url,
-- headers = {name1, value1, ...} (raw), remote_port}. Only those whose url contains
-- `needle`, when given (an id is a good needle: each test has its own collection).
function Backend.received(needle)
  local all = curl_json("GET", Backend.url() .. "/__e2e/requests").requests
  local out = {}
  for _, r in ipairs(all) do
    if not needle or r.url:find(needle, 1, true) then out[#out + 1] = r end
  end
  return out
end

-- The data of the first event `name` whose data[field] == value that the backend emitted
-- (its starter keeps the events that carry one-time tokens, as a mail catcher would keep
-- the emails). The local event bus delivers them a few seconds late: waits up to `seconds`
-- (default 20), then raises.
function Backend.token_event(name, field, value, seconds)
  for _ = 1, (seconds or 20) * 5 do
    for _, e in ipairs(curl_json("GET", Backend.url() .. "/__e2e/events").events) do
      if e.name == name and e.data[field] == value then return e.data end
    end
    run("sleep 0.2")
  end
  error(("e2e: the backend emitted no %s event with %s = %s"):format(name, field, tostring(value)), 2)
end

-- The fault-injecting proxy (spec/e2e/support/proxy.py).
local Proxy = {}
Backend.proxy = Proxy

-- Replaces the fault queue, e.g. {{status = 503, times = 2, match = id}}.
function Proxy.faults(faults)
  curl_json("POST", Backend.proxy_url() .. "/__proxy/faults", { faults = faults })
end

function Proxy.reset()
  curl_json("POST", Backend.proxy_url() .. "/__proxy/reset", {})
end

-- Requests the proxy received: {n, t_ms, method, target, headers = {{name, value}, ...},
-- body, body_len, outcome = "injected"|"reset"|"forwarded"|"upstream_error", status}.
function Proxy.log(needle)
  local out = {}
  for _, r in ipairs(curl_json("GET", Backend.proxy_url() .. "/__proxy/log").requests) do
    if not needle or r.target:find(needle, 1, true) then out[#out + 1] = r end
  end
  return out
end

return Backend
