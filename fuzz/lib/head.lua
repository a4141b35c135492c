-- fuzz/lib/head.lua: a plain-Lua reading of how src/http.c takes a response head: on_header
-- (called by libcurl once per line) keeps the status of the last "HTTP/" line, refuses a
-- Content-Length over the cap before any body byte, and stops past 1 MiB of head;
-- push_headers then lists "name: value" fields in wire order, with obsolete folding.
local Head = {}

local MAX_HEAD = 1024 * 1024

-- The lines as libcurl hands them over: each with its '\n', the last one maybe without.
local function lines(s)
  local out, i = {}, 1
  while i <= #s do
    local j = s:find("\n", i, true) or #s
    out[#out + 1] = s:sub(i, j)
    i = j + 1
  end
  return out
end

local function over_cap(line, cap)
  local digits = line:match("^[ \t]*(%d+)", 16)
  if not digits then return false end
  digits = digits:gsub("^0+", "")
  return #digits > 15 or (tonumber(digits) or 0) > cap
end

-- on_header over every line of s: -> status, too_large (1 body cap, 2 head size), kept head
function Head.read(s, cap)
  local head, status, too_large = {}, 0, 0
  local size = 0
  for _, line in ipairs(lines(s)) do
    if line:sub(1, 5) == "HTTP/" then
      head, size, status = {}, 0, 0
      local sp = line:find(" ", 1, true)
      local code = sp and sp + 3 <= #line and line:sub(sp + 1, sp + 3)
      if code and code:match("^%d%d%d$") then status = tonumber(code) end
    elseif line:sub(1, 15):lower() == "content-length:" and over_cap(line, cap) then
      too_large = 1
      break
    end
    if size + #line > MAX_HEAD then
      too_large = 2
      break
    end
    head[#head + 1] = line
    size = size + #line
  end
  return status, too_large, table.concat(head)
end

-- push_headers over a kept head: the status line skipped, then the flat {name, value, ...} list.
function Head.fields(text)
  local out = {}
  local body = text:match("^[^\n]*\n(.*)$") or ""
  for _, line in ipairs(lines(body)) do
    line = line:gsub("\n$", ""):gsub("\r$", "")
    if line ~= "" then
      local first = line:sub(1, 1)
      if (first == " " or first == "\t") and #out > 0 then
        out[#out] = out[#out] .. " " .. line:gsub("^[ \t]+", "")
      else
        local colon = line:find(":", 1, true)
        if colon and colon > 1 then
          out[#out + 1] = line:sub(1, colon - 1)
          out[#out + 1] = line:sub(colon + 1):gsub("^[ \t]+", ""):gsub("[ \t]+$", "")
        end
      end
    end
  end
  return out
end

return Head
