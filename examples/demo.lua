-- examples/demo.lua: the main job. Starts the project's stand-in store on 127.0.0.1, runs
-- every example against it as a user would (each in its own lua5.4 process, ids passed by
-- environment variables), and stops the store by PID. Exits non-zero if any example fails.
local Server = require "support.server"

local interpreter = arg[-1] or "lua5.4"
local here = arg[0]:match("^(.-)[^/]*$")
if here == "" then here = "./" end

local store = Server.start { mode = "store" }
local failures = 0

local function run(title, script, env)
  local vars = { "MEDUSA_BASE_URL=" .. Server.shell_quote(store.url) }
  for k, v in pairs(env) do vars[#vars + 1] = k .. "=" .. Server.shell_quote(v) end
  print(("\n== %s  (%s)"):format(title, script))
  local p = io.popen(("env %s %s %s 2>&1; echo \"exit=$?\""):format(
    table.concat(vars, " "), interpreter, Server.shell_quote(here .. script)))
  local out = p:read("*a")
  p:close()
  local status = tonumber(out:match("exit=(%d+)%s*$"))
  out = out:gsub("exit=%d+%s*$", "")
  io.write(out)
  if status ~= 0 then
    failures = failures + 1
    print(("!! %s exited with %s"):format(script, tostring(status)))
  end
  return out
end

local ok, err = pcall(function()
  print(("stand-in store at %s (pid %d)"):format(store.url, store.pid))

  -- One collection through a single session's life.
  local pc = store:new_collection(5000)
  local env = { MEDUSA_COLLECTION_ID = pc.id }
  run("retrieve a payment collection", "retrieve.lua", env)
  local out = run("create a payment session", "manage_payment_session.lua", env)
  env.MEDUSA_SESSION_ID = out:match("MEDUSA_SESSION_ID=(%S+)")
  out = run("refresh it (the backend gives it a new id)", "refresh_payment_session.lua", env)
  env.MEDUSA_SESSION_ID = out:match("MEDUSA_SESSION_ID=(%S+)") or env.MEDUSA_SESSION_ID
  run("authorize it", "authorize_payment_session.lua", env)
  run("retrieve it again", "retrieve.lua", env)

  -- Another collection, split across two sessions in one batch.
  local pc2 = store:new_collection(5000)
  local env2 = { MEDUSA_COLLECTION_ID = pc2.id }
  out = run("set two sessions in one batch", "manage_payment_sessions_batch.lua", env2)
  env2.MEDUSA_SESSION_IDS = out:match("MEDUSA_SESSION_IDS=(%S+)")
  run("authorize both in one batch", "authorize_payment_sessions_batch.lua", env2)

  -- Several calls at once, as tasks inside an event loop the program already runs.
  local several = {}
  for i = 1, 3 do several[i] = store:new_collection(1000 * i).id end
  local env3 = { MEDUSA_COLLECTION_IDS = table.concat(several, ",") }
  run("three calls at once inside a cqueues program", "cqueues_loop.lua", env3)
  run("three calls at once inside a libuv program (luv)", "luv_loop.lua", env3)

  run("what a failure looks like", "errors.lua", {})
  run("log in, per client", "auth.lua", { MEDUSA_EMAIL = "demo@example.com", MEDUSA_PASSWORD = "demo-password" })
end)

store:stop()
if not ok then
  io.stderr:write("demo failed: ", tostring(err), "\n")
  os.exit(1)
end
print(("\n%d example(s) failed"):format(failures))
os.exit(failures == 0 and 0 or 1)
