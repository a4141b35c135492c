-- tools/repl_transcript.lua: drives a real `lua5.4 -i` REPL under tmux against the
-- stand-in store and writes what the screen showed as markdown (examples/repl.md).
-- spec/repl_spec.lua runs it again and compares, so the transcript cannot rot.
-- Usage: lua5.4 tools/repl_transcript.lua OUTPUT.md   (LUA_PATH as in the Makefile)
local Server = require "support.server"

local output = assert(arg[1], "usage: repl_transcript.lua OUTPUT.md")
local session = "medusa-repl-" .. tostring(os.time()) .. "-" .. tostring(math.random(1e6))
local q = Server.shell_quote

local LINES = {
  'Medusa',
  'medusa',
  'medusa.paymentCollections',
  'medusa.carts',
  'res = medusa.paymentCollections.retrieve("paycol_01JGFJJZ000000000000000001", {expand = "region"})',
  'res',
  'res.response.status, res.payment_collection.amount, math.type(res.payment_collection.amount)',
  'res.payment_collection.region',
  'res.response.headers',
  'res, err = medusa.paymentCollections.retrieve("paycol_nope")',
  'err',
  'err.status, err.type, err.attempts',
  'err.body',
  'Medusa.json.encode(Medusa.json.decode(\'{"a":[],"n":5000,"x":null}\'))',
}

local function sh(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("*a")
  p:close()
  return out
end

local function sleep(seconds)
  os.execute("sleep " .. seconds)
end

local function screen()
  return sh(("tmux capture-pane -p -J -S - -t %s"):format(q(session)))
end

-- Waits until the last non-empty line of the screen is a fresh prompt.
local function wait_prompt(previous_prompts)
  for _ = 1, 100 do
    local text = screen()
    local prompts = select(2, text:gsub("\n> ", "")) + (text:match("^> ") and 1 or 0)
    if prompts > previous_prompts and text:match("> %s*$") then return prompts end
    sleep(0.1)
  end
  error("the REPL did not come back to its prompt:\n" .. screen())
end

local store = Server.start { mode = "store" }
local ok, err = pcall(function()
  local start = ("lua5.4 -i -e %s"):format(q(
    ('Medusa = require "medusa"; medusa = Medusa {baseUrl = "%s"}'):format(store.url)))
  local env = ("LUA_PATH=%s LUA_CPATH=%s"):format(q(os.getenv("LUA_PATH") or ""), q(os.getenv("LUA_CPATH") or ""))
  sh(("tmux new-session -d -x 160 -y 50 -s %s %s"):format(q(session), q("env " .. env .. " " .. start)))
  local prompts = wait_prompt(0)
  for _, line in ipairs(LINES) do
    sh(("tmux send-keys -t %s -l %s"):format(q(session), q(line)))
    sh(("tmux send-keys -t %s Enter"):format(q(session)))
    prompts = wait_prompt(prompts)
  end
  local text = screen():gsub("%s+$", "")
  -- The store's port changes on every run; show the default one.
  text = text:gsub("127%.0%.0%.1:%d+", "127.0.0.1:9000")
  local f = assert(io.open(output, "w"))
  f:write("# The REPL\n\n")
  f:write("A real session, recorded by `tools/repl_transcript.lua` (tmux driving `lua5.4 -i`)\n")
  f:write("against the stand-in store; `spec/repl_spec.lua` records it again and compares.\n\n")
  f:write("```\n$ lua5.4 -i -e 'Medusa = require \"medusa\"; medusa = Medusa {baseUrl = \"http://127.0.0.1:9000\"}'\n")
  f:write(text, "\n```\n")
  f:close()
end)
sh(("tmux kill-session -t %s"):format(q(session)))
store:stop()
if not ok then error(err, 0) end
