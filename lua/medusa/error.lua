-- medusa.error: the error object every failed request returns (`nil, err`), and the
-- helper that raises programmer errors at the caller's line rather than inside medusa.
local Error = {}
Error.__index = Error
Error.__name = "medusa.Error"

---@class medusa.Error
---@field status integer|nil  HTTP status, when a status line arrived
---@field type string         the backend's type (not_found, invalid_data, ...), or one of
---                           network|timeout|too_large|invalid_response|redirect|tls|local|http_error|cancelled
---@field code string|nil     backend code, or the libcurl code name for transport failures
---@field message string
---@field body any           decoded JSON body, or the raw text of a non-JSON body
---@field headers table|nil   response headers, lower-cased, without set-cookie
---@field attempts integer
---@field method string
---@field url string

function Error.new(fields)
  return setmetatable(fields, Error)
end

function Error.is(value)
  return getmetatable(value) == Error
end

function Error.__tostring(err)
  local message = tostring(err.message or ""):gsub("[\r\n]+", " ")
  local attempts = type(err.attempts) == "number" and err.attempts > 1
    and (" (after %d attempts)"):format(err.attempts) or ""
  if err.status then
    return ("medusa: %d %s: %s%s"):format(err.status, err.type, message, attempts)
  end
  return ("medusa: %s: %s%s"):format(err.type, message, attempts)
end

-- The folder medusa's Lua modules were loaded from ("@lua/medusa/" for a checkout,
-- "@/usr/local/share/lua/5.4/medusa/" for a rock): every module of the library lives
-- below it. A user's own file in a folder that happens to be named medusa/ does not.
local LIBRARY = debug.getinfo(1, "S").source:match("^(@.*[/\\])[^/\\]*$")

-- Lua 5.1 leaves a "(tail call)" level (what == "tail") where a frame was replaced by a
-- tail call; later Luas and LuaJIT show no level there, so it is skipped like a C one.
local function inside_library(info)
  return info.what == "C" or info.what == "tail"
    or (LIBRARY ~= nil and info.source:sub(1, #LIBRARY) == LIBRARY)
end

-- Raises `message` at the first stack level outside medusa's own modules, so the error
-- points at the user's call, however deep inside the library the check happened.
function Error.raise(message)
  -- debug.getinfo level n is the same frame as error()'s level n, counted from here.
  local level = 2
  while true do
    local info = debug.getinfo(level, "S")
    if not info then
      -- No Lua caller left: the call was a tail call (the REPL compiles an expression
      -- as `return <expr>`), so no line of the caller exists. Say no position at all
      -- rather than one inside the library.
      level = 0
      break
    end
    if not inside_library(info) then break end
    level = level + 1
  end
  error("medusa: " .. message, level)
end

-- Raises "bad argument 'name' (why)" at the user's call.
function Error.argument(name, why)
  Error.raise(("bad argument '%s' (%s)"):format(name, why))
end

return Error
