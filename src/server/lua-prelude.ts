// The Lua that makes a fresh Lua 5.4 state into the sandbox Redis scripts
// expect (lua-vm.ts runs it once per state, with every standard library
// open). It is called with the host's functions and returns what the host
// keeps in the registry: { msgh = the message handler, killed = the
// sentinel a stopped script is raised with, and load_library,
// commit_library, remove_library, fcall: Redis 7's functions (functions.ts) }.
//
// What must hold:
// - a script reaches only the base functions Redis 7.0 gives scripts, and
//   string, table, math, bit, cjson (lua-cjson.ts), cmsgpack
//   (lua-cmsgpack.ts) and redis: no os, io,
//   package, require, load
//   of binary chunks, debug, coroutine or print (nothing outside the VM);
// - globals and those libraries are read-only, as in Redis 7: a script can
//   leave nothing behind for the next one (KEYS and ARGV are set by the host
//   with rawset before each run);
// - pcall and xpcall cannot catch `killed`: a script stopped for running too
//   long stops, whatever it catches;
// - the message handler turns any error into { err = reply text, line =
//   the script's line where it was raised }; the host appends Redis's
//   " script: <sha>, on @user_script:<line>." suffix.
export const PRELUDE = String.raw`
local call, pcall_command, sha1hex, log, wrap = ...
local getinfo = debug.getinfo
local pcall0, xpcall0, error0, load0, rawset0, setmetatable0, tostring0, type0 = pcall, xpcall, error, load, rawset, setmetatable, tostring, type
local killed = {}

local function rethrow(ok, ...)
  if not ok and (...) == killed then error0(killed, 0) end
  return ok, ...
end
pcall = function(f, ...) return rethrow(pcall0(f, ...)) end
xpcall = function(f, handler, ...)
  return rethrow(xpcall0(f, function(e) if e == killed then return e end return handler(e) end, ...))
end
unpack = table.unpack
-- Lua 5.4 runs a table's __gc whenever the collector gets to it, during a
-- later script or none (Redis's 5.1 has no finalizers for tables): refused.
setmetatable = function(t, mt)
  if type0(mt) == 'table' and rawget(mt, '__gc') ~= nil then error0('__gc metamethods are not allowed in scripts', 2) end
  return setmetatable0(t, mt)
end
loadstring = function(s, name) return load0(s, name, 't') end

-- LuaBitOp, as Redis has it: operands and results are signed 32-bit integers.
local function tobit(x)
  x = math.floor(x) % 4294967296
  if x >= 2147483648 then x = x - 4294967296 end
  return math.tointeger(x)
end
local function fold(op)
  return function(x, ...)
    local r = tobit(x)
    for i = 1, select('#', ...) do r = tobit(op(r, tobit((select(i, ...))))) end
    return r
  end
end
bit = {
  tobit = tobit,
  bnot = function(x) return tobit(~tobit(x)) end,
  band = fold(function(a, b) return a & b end),
  bor = fold(function(a, b) return a | b end),
  bxor = fold(function(a, b) return a ~ b end),
  lshift = function(x, n) return tobit(tobit(x) << (tobit(n) & 31)) end,
  rshift = function(x, n) return tobit((tobit(x) & 0xffffffff) >> (tobit(n) & 31)) end,
  arshift = function(x, n) return tobit(tobit(x) >> (tobit(n) & 31) | (tobit(x) < 0 and ~(0xffffffff >> (tobit(n) & 31)) or 0)) end,
  rol = function(x, n) local u, k = tobit(x) & 0xffffffff, tobit(n) & 31 return tobit((u << k) | (u >> (32 - k))) end,
  ror = function(x, n) local u, k = tobit(x) & 0xffffffff, tobit(n) & 31 return tobit((u >> k) | (u << (32 - k))) end,
  bswap = function(x)
    local u = tobit(x) & 0xffffffff
    return tobit(((u & 0xff) << 24) | ((u & 0xff00) << 8) | ((u >> 8) & 0xff00) | (u >> 24))
  end,
  tohex = function(x, n)
    n = n or 8
    local upper = n < 0
    if upper then n = -n end
    local s = string.format(upper and '%08X' or '%08x', tobit(x) & 0xffffffff)
    return s:sub(-n)
  end,
}

redis = {
  call = call,
  pcall = pcall_command,
  sha1hex = sha1hex,
  log = log,
  -- "-CODE text" or "CODE text" keep their code; a message of one word gets ERR (Redis 7.0's rule).
  error_reply = function(msg)
    if type0(msg) ~= 'string' then error0('wrong number or type of arguments', 0) end
    if msg:sub(1, 1) == '-' then msg = msg:sub(2) end
    local space = msg:find(' ', 1, true)
    local code, text = 'ERR', msg
    if space then code, text = msg:sub(1, space - 1), msg:sub(space + 1) end
    return { err = code .. ' ' .. text:gsub('[\r\n]+$', '') }
  end,
  status_reply = function(msg)
    if type0(msg) ~= 'string' then error0('wrong number or type of arguments', 0) end
    return { ok = msg }
  end,
  setresp = function(v)
    if v ~= 2 then error0('xrpkv runs scripts with RESP2 replies only', 0) end
  end,
  set_repl = function() end,
  replicate_commands = function() return true end,
  breakpoint = function() return false end,
  debug = function() end,
  LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
  REPL_NONE = 0, REPL_AOF = 1, REPL_SLAVE = 2, REPL_REPLICA = 2, REPL_ALL = 3,
}

-- FUNCTION LOAD's libraries run with _ENV = libenv: while one loads, its
-- globals are the load API (a redis with register_function and log, and
-- nothing else, as Redis 7.0 has it); once loaded, its functions see the
-- scripts' globals. Loaded functions stay here, by name, for FCALL.
local function nonexistent(_, k) error0("Script attempted to access nonexistent global variable '" .. tostring0(k) .. "'", 2) end
local function readonly_table() error0('Attempt to modify a readonly table', 2) end
local FUNCTION_FLAGS = { ['no-writes'] = true, ['allow-oom'] = true, ['allow-stale'] = true, ['no-cluster'] = true, ['allow-cross-slot-keys'] = true }
local loading, staged, functions, libraries = nil, nil, {}, {}
local function refuse(msg) error0({ err = 'ERR ' .. msg }, 0) end
local function register_function(...)
  if loading == nil then refuse('redis.register_function can only be called on FUNCTION LOAD command') end
  local n = select('#', ...)
  if n < 1 or n > 2 then refuse('wrong number of arguments to redis.register_function') end
  local name, fn, desc, flags = nil, nil, nil, {}
  if n == 1 then
    local t = ...
    if type0(t) ~= 'table' then refuse('calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).') end
    for k, v in pairs(t) do
      if type0(k) ~= 'string' then refuse('named argument key given to redis.register_function is not a string') end
      local key = k:lower()
      if key == 'function_name' then
        if type0(v) ~= 'string' then refuse('function_name argument given to redis.register_function must be a string') end
        name = v
      elseif key == 'description' then
        if type0(v) ~= 'string' then refuse('description argument given to redis.register_function must be a string') end
        desc = v
      elseif key == 'callback' then
        if type0(v) ~= 'function' then refuse('callback argument given to redis.register_function must be a function') end
        fn = v
      elseif key == 'flags' then
        if type0(v) ~= 'table' then refuse('flags argument to redis.register_function must be a table representing function flags') end
        for i = 1, math.huge do
          local f = v[i]
          if f == nil then break end
          if type0(f) ~= 'string' or not FUNCTION_FLAGS[f:lower()] then refuse('unknown flag given') end
          flags[#flags + 1] = f:lower()
        end
      else
        refuse('unknown argument given to redis.register_function')
      end
    end
    if name == nil then refuse('redis.register_function must get a function name argument') end
    if fn == nil then refuse('redis.register_function must get a callback argument') end
  else
    name, fn = ...
    if type0(name) ~= 'string' then refuse('first argument to redis.register_function must be a string') end
    if type0(fn) ~= 'function' then refuse('second argument to redis.register_function must be a function') end
  end
  -- Redis 7.0 words a bad function name as it words a bad library name.
  if not name:match('^[%w_]+$') then refuse('Library names can only contain letters, numbers, or underscores(_) and must be at least one character long') end
  if loading.functions[name] ~= nil then refuse('Function already exists in the library') end
  loading.functions[name] = { fn = fn, flags = flags, desc = desc }
  loading.names[#loading.names + 1] = name
end
local loadredis = { register_function = register_function, log = log, LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3 }
setmetatable0(loadredis, { __index = nonexistent, __newindex = readonly_table, __metatable = false })
local loadapi = setmetatable0({ redis = loadredis }, { __index = nonexistent, __newindex = readonly_table, __metatable = false })
local libmeta = { __index = loadapi, __newindex = readonly_table, __metatable = false }
local libenv = setmetatable0({}, libmeta)

-- Loads a library's code (after its shebang line) into the staging slot: its functions' names, flags and descriptions, or an error.
local function load_library(code)
  local chunk, err = load0(code, '@user_function', 't', libenv)
  if chunk == nil then return { err = 'ERR Error compiling function: ' .. tostring0(err):gsub('^%[string "user_function"%]', 'user_function') } end
  loading = { functions = {}, names = {} }
  libmeta.__index = loadapi
  local ok, e = xpcall0(chunk, function(e) return e end)
  libmeta.__index = _G
  local lib = loading
  loading = nil
  if not ok then
    if e == killed then return { err = 'ERR Error registering functions: FUNCTION LOAD timeout' } end
    local text = type0(e) == 'table' and e.err or ('ERR ' .. tostring0(e))
    return { err = 'ERR Error registering functions: ' .. text }
  end
  staged = lib
  local out = {}
  for i, name in ipairs(lib.names) do
    local f = lib.functions[name]
    out[i] = { name, f.desc or false, f.flags }
  end
  return out
end

-- Installs the staged library as \`libname\` (its functions then callable), or drops it.
local function commit_library(libname)
  libraries[libname] = staged
  for name, f in pairs(staged.functions) do functions[name] = f end
  staged = nil
end
local function remove_library(libname)
  local lib = libraries[libname]
  if lib == nil then return end
  for name in pairs(lib.functions) do functions[name] = nil end
  libraries[libname] = nil
end
local function fcall(name, keys, args) return functions[name].fn(keys, args) end

os, io, package, require, dofile, loadfile, load, debug, coroutine, print, utf8, warn = nil

-- The library functions written in Lua err as C functions do (lua-vm.ts's trampoline).
loadstring = wrap(loadstring)
for _, lib in ipairs({ bit, redis, cjson, cmsgpack }) do
  for name, f in pairs(lib) do
    if type0(f) == 'function' and f ~= call and f ~= pcall_command and f ~= sha1hex and f ~= log then lib[name] = wrap(f) end
  end
end

-- Read-only libraries: a proxy each, so that no script changes what the next one runs.
local function readonly(name)
  return function() error0('Attempt to modify a readonly table', 2) end
end
local protected = {}
for _, name in ipairs({ 'string', 'table', 'math', 'bit', 'redis', 'cjson', 'cmsgpack' }) do
  local proxy = setmetatable0({}, { __index = _G[name], __newindex = readonly(name), __metatable = false })
  protected[proxy] = true
  protected[_G[name]] = true
  rawset0(_G, name, proxy)
end
getmetatable('').__metatable = false
rawset = wrap(function(t, k, v)
  -- A table, as Redis's error has no position.
  if t == _G or protected[t] then error0({ err = 'ERR Attempt to modify a readonly table' }) end
  return rawset0(t, k, v)
end)
setmetatable0(_G, {
  __index = function(_, k) error0("Script attempted to access nonexistent global variable '" .. tostring0(k) .. "'", 2) end,
  __newindex = function() error0('Attempt to modify a readonly table', 2) end,
  __metatable = false,
})

local function msgh(e)
  local line = -1
  for level = 2, 64 do
    local info = getinfo(level, 'Sl')
    if info == nil then break end
    if (info.source == '@user_script' or info.source == '@user_function') and info.currentline >= 0 then
      line = info.currentline
      break
    end
  end
  if e == killed then return e end
  if type0(e) == 'table' and type0(e.err) == 'string' then return { err = e.err, line = line } end
  return { err = 'ERR ' .. tostring0(e), line = line }
end

libmeta.__index = _G
return { msgh = msgh, killed = killed, load_library = load_library, commit_library = commit_library, remove_library = remove_library, fcall = fcall }
`;
