// `cjson` for scripts, written in Lua: encode and decode as lua-cjson 2.1
// (the library Redis bundles) does for what scripts send it. lua-vm.ts
// runs this before the prelude (lua-prelude.ts), which makes it read-only.
//
// What must hold, as lua-cjson:
// - encode: a table whose keys are 1..n (or sparse, up to twice its count
//   or 10) is an array, any other an object with string or number keys;
//   an empty table is `{}`; numbers as "%.14g", integers exactly; NaN and
//   infinities, functions and other types refused; `/` escaped as `\/`;
//   nesting deeper than 1000 refused;
// - decode: JSON text to tables, `null` to `cjson.null` (one shared value),
//   \u escapes to UTF-8 (surrogate pairs joined); anything else refused,
//   naming where.
// Object keys come out in Lua's table order, as from lua-cjson (which
// Redis's differs from: neither promises one).
export const CJSON = String.raw`
-- The prelude removes utf8 from the globals: kept here.
local utf8char = utf8.char
local cjson = {}
-- lua-cjson's null: a light userdata (the host passes it in).
local null = ...
cjson.null = null
local MAX_DEPTH = 1000
local escapes = { ['"'] = '\\"', ['\\'] = '\\\\', ['/'] = '\\/', ['\b'] = '\\b', ['\f'] = '\\f', ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t' }

local function quote(s)
  return '"' .. s:gsub('[%c"\\/]', function(c) return escapes[c] or string.format('\\u%04x', c:byte()) end) .. '"'
end

local function number(x)
  if x ~= x or x == math.huge or x == -math.huge then error('Cannot serialise number: must not be NaN or Inf', 0) end
  if math.type(x) == 'integer' then return tostring(x) end
  return string.format('%.14g', x)
end

local encode
local function encodeTable(t, depth, out)
  if depth > MAX_DEPTH then error('Cannot serialise, excessive nesting (' .. depth .. ')', 0) end
  local max, count, array = 0, 0, true
  for k in pairs(t) do
    count = count + 1
    if math.type(k) == 'integer' and k > 0 then
      if k > max then max = k end
    else
      array = false
    end
  end
  if array and count > 0 then
    if max > 2 * count and max > 10 then error('Cannot serialise table: excessively sparse array', 0) end
    out[#out + 1] = '['
    for i = 1, max do
      if i > 1 then out[#out + 1] = ',' end
      encode(t[i], depth + 1, out)
    end
    out[#out + 1] = ']'
    return
  end
  out[#out + 1] = '{'
  local first = true
  for k, v in pairs(t) do
    local kt = type(k)
    if kt ~= 'string' and kt ~= 'number' then error('Cannot serialise ' .. kt .. ': table key must be a number or string', 0) end
    if not first then out[#out + 1] = ',' end
    first = false
    out[#out + 1] = quote(kt == 'number' and number(k) or k)
    out[#out + 1] = ':'
    encode(v, depth + 1, out)
  end
  out[#out + 1] = '}'
end

encode = function(v, depth, out)
  local t = type(v)
  if v == nil or v == null then out[#out + 1] = 'null'
  elseif t == 'boolean' then out[#out + 1] = tostring(v)
  elseif t == 'number' then out[#out + 1] = number(v)
  elseif t == 'string' then out[#out + 1] = quote(v)
  elseif t == 'table' then encodeTable(v, depth, out)
  else error('Cannot serialise ' .. t .. ': type not supported', 0) end
end

function cjson.encode(v)
  local out = {}
  encode(v, 1, out)
  return table.concat(out)
end

-- lua-cjson's name for the token at 'at' (what a decode error says it found).
local function token(s, at)
  local c = s:sub(at, at)
  if c == '' then return 'T_END' end
  local named = ({ ['{'] = 'T_OBJ_BEGIN', ['}'] = 'T_OBJ_END', ['['] = 'T_ARR_BEGIN', [']'] = 'T_ARR_END', [':'] = 'T_COLON', [','] = 'T_COMMA', ['"'] = 'T_STRING' })[c]
  if named then return named end
  if c == '-' or c:match('%d') then return 'T_NUMBER' end
  if s:sub(at, at + 3) == 'true' or s:sub(at, at + 4) == 'false' then return 'T_BOOLEAN' end
  if s:sub(at, at + 3) == 'null' then return 'T_NULL' end
  return 'invalid token'
end

local function fail(what, s, at) error('Expected ' .. what .. ' but found ' .. token(s, at) .. ' at character ' .. at, 0) end

local decodeValue
local function skip(s, at) return s:find('[^ \t\r\n]', at) or #s + 1 end

local function codepoint(s, at)
  local hex = s:match('^%x%x%x%x', at)
  if not hex then error('Expected a 4 digit hex escape at character ' .. at, 0) end
  return tonumber(hex, 16), at + 4
end

local function decodeString(s, at)
  local out, i = {}, at + 1
  while true do
    local j = s:find('["\\%c]', i)
    if not j then error('Expected a closing quote at character ' .. i, 0) end
    out[#out + 1] = s:sub(i, j - 1)
    local c = s:sub(j, j)
    if c == '"' then return table.concat(out), j + 1 end
    if c ~= '\\' then error('Found a control character in a string at character ' .. j, 0) end
    local e = s:sub(j + 1, j + 1)
    local simple = ({ ['"'] = '"', ['\\'] = '\\', ['/'] = '/', b = '\b', f = '\f', n = '\n', r = '\r', t = '\t' })[e]
    if simple then
      out[#out + 1] = simple
      i = j + 2
    elseif e == 'u' then
      local cp, k = codepoint(s, j + 2)
      if cp >= 0xd800 and cp <= 0xdbff and s:sub(k, k + 1) == '\\u' then
        local low, k2 = codepoint(s, k + 2)
        if low >= 0xdc00 and low <= 0xdfff then
          cp, k = 0x10000 + (cp - 0xd800) * 0x400 + (low - 0xdc00), k2
        end
      end
      out[#out + 1] = utf8char(cp)
      i = k
    else
      error('Found an invalid escape code at character ' .. j, 0)
    end
  end
end

local function decodeNumber(s, at)
  local text = s:match('^-?%d+%.?%d*[eE]?[-+]?%d*', at)
  local n = text and tonumber(text)
  if not n then error('Expected value but found invalid number at character ' .. at, 0) end
  return n, at + #text
end

decodeValue = function(s, at, depth)
  at = skip(s, at)
  local c = s:sub(at, at)
  if c == '{' or c == '[' then
    if depth > MAX_DEPTH then error('Found too many nested data structures (' .. depth .. ') at character ' .. at, 0) end
    local t, close = {}, c == '{' and '}' or ']'
    at = skip(s, at + 1)
    if s:sub(at, at) == close then return t, at + 1 end
    local n = 0
    while true do
      if c == '{' then
        if s:sub(at, at) ~= '"' then fail('object key string', s, at) end
        local k
        k, at = decodeString(s, at)
        at = skip(s, at)
        if s:sub(at, at) ~= ':' then fail('colon', s, at) end
        t[k], at = decodeValue(s, at + 1, depth + 1)
      else
        n = n + 1
        t[n], at = decodeValue(s, at, depth + 1)
      end
      at = skip(s, at)
      local d = s:sub(at, at)
      if d == close then return t, at + 1 end
      if d ~= ',' then fail('comma or ' .. (c == '{' and 'object' or 'array') .. ' end', s, at) end
      at = skip(s, at + 1)
    end
  elseif c == '"' then return decodeString(s, at)
  elseif c == '-' or c:match('%d') then return decodeNumber(s, at)
  elseif s:sub(at, at + 3) == 'true' then return true, at + 4
  elseif s:sub(at, at + 4) == 'false' then return false, at + 5
  elseif s:sub(at, at + 3) == 'null' then return null, at + 4
  end
  fail('value', s, at)
end

function cjson.decode(s)
  if type(s) == 'number' then s = tostring(s) end
  if type(s) ~= 'string' then error('bad argument #1 to \'decode\' (string expected, got ' .. type(s) .. ')', 0) end
  local v, at = decodeValue(s, 1, 1)
  at = skip(s, at)
  if at <= #s then fail('the end', s, at) end
  return v
end

return cjson
`;
