-- bench/lua/startup_split.lua: where `require "medusa"` spends its start-up, measured inside
-- the process (CPU time, os.clock): loading the C core (medusa.core: the dynamic loader maps
-- libcurl and OpenSSL, then curl_global_init) against loading the Lua modules on top of it.
local t0 = os.clock()
require "medusa.core"
local t1 = os.clock()
require "medusa"
local t2 = os.clock()
io.write(('{"core_ms":%.3f,"lua_ms":%.3f}\n'):format((t1 - t0) * 1000, (t2 - t1) * 1000))
