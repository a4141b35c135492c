-- medusa.headers: what repeated response header fields become, as Node's http module
-- decides it (medusa-js sees headers through Node). The rules are handed to the transport
-- with each request: the libcurl transport applies them in C while it builds the map, the
-- cosocket transport field by field through Headers.add below. Both give the same map,
-- and Headers.map (the same rules over a flat list) is the reference the specs and the
-- fuzzer compare the C map with.
local Headers = {}

-- Header names (lower-cased) whose values would log someone in: hooks are given them as
-- REDACTED (medusa.events) and the REPL prints them so (medusa.pretty); the wire and the
-- data keep them.
Headers.SECRET = { authorization = true, cookie = true, ["set-cookie"] = true, ["x-medusa-access-token"] = true }
Headers.REDACTED = "[redacted]"

-- lower-cased name -> "first" (Node keeps the first field and discards repeats) or "list"
-- (every field kept, in order); any other name joins its repeats with ", ".
-- Keeping the first Retry-After, e.g., times a retry as medusa-js does instead of
-- joining two values into garbage.
Headers.RULES = {
  ["set-cookie"] = "list",
  age = "first", authorization = "first", ["content-length"] = "first", ["content-type"] = "first",
  etag = "first", expires = "first", from = "first", host = "first", ["if-modified-since"] = "first",
  ["if-unmodified-since"] = "first", ["last-modified"] = "first", location = "first",
  ["max-forwards"] = "first", ["proxy-authorization"] = "first", referer = "first",
  ["retry-after"] = "first", server = "first", ["user-agent"] = "first",
}

-- Lower-cased header names, remembered: a table lookup is cheaper than string.lower on
-- every header of every response. Bounded, since a server chooses the names.
local lower_names, lower_count = {}, 0
local function lower(name)
  local l = lower_names[name]
  if l then return l end
  l = name:lower()
  if lower_count < 512 then
    lower_names[name] = l
    lower_count = lower_count + 1
  end
  return l
end
Headers.lower = lower

-- Adds one field (its lower-cased name) to a map by the rules. Returns what a folded line
-- after it would continue: 1 the name's string value, 2 its list's last value, 3 nothing
-- (a repeat the rules dropped).
function Headers.add(map, rules, name, value)
  local rule, seen = rules[name], map[name]
  if rule == "list" then
    if seen then seen[#seen + 1] = value else map[name] = { value } end
    return 2
  elseif seen == nil then
    map[name] = value
    return 1
  elseif rule ~= "first" then
    map[name] = seen .. ", " .. value
    return 1
  end
  return 3
end

-- A flat {name1, value1, ...} list in wire order (folded lines already joined) -> the map.
function Headers.map(flat, rules)
  local map = {}
  for i = 1, #flat, 2 do
    Headers.add(map, rules, lower(flat[i]), flat[i + 1])
  end
  return map
end

-- The map without its "list" fields (Set-Cookie): what an error object carries, so that a
-- session cookie never lands in a log line. The same table when there is nothing to drop.
function Headers.without_lists(map, rules)
  local copy
  for name, value in pairs(map) do
    if type(value) == "table" and rules[name] == "list" then
      if not copy then
        copy = {}
        for k, v in pairs(map) do copy[k] = v end
      end
      copy[name] = nil
    end
  end
  return copy or map
end

return Headers
