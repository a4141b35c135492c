-- bench/nginx/lua/delayed_handlers.lua: the handlers of bench/nginx/delayed.conf, the 20 ms
-- backend of the `concurrent` group. Every answer waits DELAY_S first (ngx.sleep yields, so
-- one worker serves 100 requests in flight at once). The flaky ids answer 503 on their first
-- hit and 200 after, which a client with one retry turns into two requests per call; the
-- shared dict counts the hits, so bench/run.py can check that a run made exactly the requests
-- it should have (every call answered, every flaky id retried once and only once).
local DELAY_S = 0.02
local ERROR_BODY = '{"code":"unknown_error","type":"unknown_error","message":"Service Unavailable (bench: flaky id)"}'

local handlers = {}
local body

-- init_by_lua: the recorded 525-byte GET body, read once from bench/run.py's payload file.
function handlers.init(path)
  local f = assert(io.open(path, "rb"))
  body = f:read("*a")
  f:close()
end

local function answer(status, text)
  ngx.status = status
  ngx.header["Content-Length"] = #text
  ngx.print(text)
end

function handlers.ok()
  ngx.shared.bench_hits:incr("ok", 1, 0)
  ngx.sleep(DELAY_S)
  answer(200, body)
end

function handlers.flaky(id)
  local hits = ngx.shared.bench_hits:incr("id:" .. id, 1, 0)
  ngx.sleep(DELAY_S)
  if hits == 1 then
    answer(503, ERROR_BODY)
  else
    answer(200, body)
  end
end

-- {"ok":hits of the plain route,"flaky_ids":ids hit,"flaky_twice":ids hit exactly twice,
--  "flaky_hits":all hits of flaky ids}; then every count goes back to zero.
function handlers.reset()
  local dict = ngx.shared.bench_hits
  local ids, twice, hits = 0, 0, 0
  for _, key in ipairs(dict:get_keys(0)) do
    if key:sub(1, 3) == "id:" then
      local n = dict:get(key) or 0
      ids, hits = ids + 1, hits + n
      if n == 2 then twice = twice + 1 end
    end
  end
  local ok = dict:get("ok") or 0
  dict:flush_all()
  dict:flush_expired()
  ngx.header["Content-Type"] = "application/json"
  answer(200, ('{"ok":%d,"flaky_ids":%d,"flaky_twice":%d,"flaky_hits":%d}'):format(ok, ids, twice, hits))
end

return handlers
