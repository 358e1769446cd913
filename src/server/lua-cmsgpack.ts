// `cmsgpack` for scripts, written in Lua with string.pack: pack, unpack,
// unpack_one and unpack_limit as lua-cmsgpack 0.4 (the library Redis
// bundles) encodes and decodes. lua-vm.ts runs this before the prelude,
// which makes it read-only and makes its errors name the script's line.
//
// What must hold, as lua-cmsgpack:
// - a number that holds an integer packs as the smallest integer format;
//   any other as a 32-bit float where that is exact, else a 64-bit one;
// - a string packs as fixstr, str8, str16 or str32 by its length; a table
//   with keys 1..n (no holes) as an array, any other as a map; a table
//   nested deeper than 16, and a function or the like, as nil;
// - unpack reads what lua-cmsgpack reads: not the bin and ext types (Redis's
//   answers "Bad data format in input." to them too); input that ends early
//   is "Missing bytes in input.", an unknown type "Bad data format in
//   input.".
export const CMSGPACK = String.raw`
local spack, sunpack, schar, sbyte, concat, mtype, floor = string.pack, string.unpack, string.char, string.byte, table.concat, math.type, math.floor
local MAX_NESTING = 16
local cmsgpack = {}

local encode
local function encodeInteger(n, out)
  if n >= 0 then
    if n < 128 then out[#out + 1] = schar(n)
    elseif n < 0x100 then out[#out + 1] = spack('>BI1', 0xcc, n)
    elseif n < 0x10000 then out[#out + 1] = spack('>BI2', 0xcd, n)
    elseif n < 0x100000000 then out[#out + 1] = spack('>BI4', 0xce, n)
    else out[#out + 1] = spack('>BI8', 0xcf, n) end
  else
    if n >= -32 then out[#out + 1] = schar(0x100 + n)
    elseif n >= -128 then out[#out + 1] = spack('>Bi1', 0xd0, n)
    elseif n >= -32768 then out[#out + 1] = spack('>Bi2', 0xd1, n)
    elseif n >= -2147483648 then out[#out + 1] = spack('>Bi4', 0xd2, n)
    else out[#out + 1] = spack('>Bi8', 0xd3, n) end
  end
end

local function encodeNumber(x, out)
  if mtype(x) == 'integer' then return encodeInteger(x, out) end
  -- A float that holds an int64 packs as one (lua-cmsgpack's IS_INT64_EQUIVALENT).
  if x == x and x >= -9.2233720368547758e18 and x < 9.2233720368547758e18 and floor(x) == x then return encodeInteger(math.tointeger(x), out) end
  if sunpack('>f', spack('>f', x)) == x then out[#out + 1] = spack('>Bf', 0xca, x)
  else out[#out + 1] = spack('>Bd', 0xcb, x) end
end

local function encodeString(s, out)
  local n = #s
  if n < 32 then out[#out + 1] = schar(0xa0 + n)
  elseif n < 0x100 then out[#out + 1] = spack('>BI1', 0xd9, n)
  elseif n < 0x10000 then out[#out + 1] = spack('>BI2', 0xda, n)
  else out[#out + 1] = spack('>BI4', 0xdb, n) end
  out[#out + 1] = s
end

local function isArray(t)
  local count, max = 0, 0
  for k in pairs(t) do
    if mtype(k) ~= 'integer' or k < 1 then return false end
    count = count + 1
    if k > max then max = k end
  end
  return count == max
end

local function encodeTable(t, depth, out)
  if isArray(t) then
    local n = #t
    if n < 16 then out[#out + 1] = schar(0x90 + n)
    elseif n < 0x10000 then out[#out + 1] = spack('>BI2', 0xdc, n)
    else out[#out + 1] = spack('>BI4', 0xdd, n) end
    for i = 1, n do encode(t[i], depth + 1, out) end
    return
  end
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  if n < 16 then out[#out + 1] = schar(0x80 + n)
  elseif n < 0x10000 then out[#out + 1] = spack('>BI2', 0xde, n)
  else out[#out + 1] = spack('>BI4', 0xdf, n) end
  for k, v in pairs(t) do
    encode(k, depth + 1, out)
    encode(v, depth + 1, out)
  end
end

encode = function(v, depth, out)
  local t = type(v)
  if t == 'boolean' then out[#out + 1] = schar(v and 0xc3 or 0xc2)
  elseif t == 'number' then encodeNumber(v, out)
  elseif t == 'string' then encodeString(v, out)
  elseif t == 'table' and depth <= MAX_NESTING then encodeTable(v, depth, out)
  else out[#out + 1] = schar(0xc0) end
end

function cmsgpack.pack(...)
  local n = select('#', ...)
  if n == 0 then error("bad argument #0 to 'pack' (MessagePack pack needs input.)", 0) end
  local out = {}
  for i = 1, n do encode((select(i, ...)), 1, out) end
  return concat(out)
end

local function need(s, at, n)
  if at + n - 1 > #s then error('Missing bytes in input.', 0) end
end

local decode
local function decodeN(s, at, fmt, n)
  need(s, at, n)
  return sunpack(fmt, s, at)
end

local function decodeBytes(s, at, n)
  need(s, at, n)
  return s:sub(at, at + n - 1), at + n
end

local function decodeArray(s, at, n)
  local t = {}
  for i = 1, n do t[i], at = decode(s, at) end
  return t, at
end

local function decodeMap(s, at, n)
  local t = {}
  for _ = 1, n do
    local k, v
    k, at = decode(s, at)
    v, at = decode(s, at)
    if k ~= nil then t[k] = v end
  end
  return t, at
end

decode = function(s, at)
  need(s, at, 1)
  local c = sbyte(s, at)
  at = at + 1
  if c < 0x80 then return c, at end
  if c >= 0xe0 then return c - 0x100, at end
  if c >= 0xa0 and c < 0xc0 then return decodeBytes(s, at, c - 0xa0) end
  if c >= 0x90 and c < 0xa0 then return decodeArray(s, at, c - 0x90) end
  if c >= 0x80 and c < 0x90 then return decodeMap(s, at, c - 0x80) end
  if c == 0xc0 then return nil, at end
  if c == 0xc2 then return false, at end
  if c == 0xc3 then return true, at end
  if c == 0xcc then return decodeN(s, at, '>I1', 1) end
  if c == 0xcd then return decodeN(s, at, '>I2', 2) end
  if c == 0xce then return decodeN(s, at, '>I4', 4) end
  if c == 0xcf then return decodeN(s, at, '>i8', 8) end
  if c == 0xd0 then return decodeN(s, at, '>i1', 1) end
  if c == 0xd1 then return decodeN(s, at, '>i2', 2) end
  if c == 0xd2 then return decodeN(s, at, '>i4', 4) end
  if c == 0xd3 then return decodeN(s, at, '>i8', 8) end
  if c == 0xca then return decodeN(s, at, '>f', 4) end
  if c == 0xcb then return decodeN(s, at, '>d', 8) end
  if c == 0xd9 then local n; n, at = decodeN(s, at, '>I1', 1) return decodeBytes(s, at, n) end
  if c == 0xda then local n; n, at = decodeN(s, at, '>I2', 2) return decodeBytes(s, at, n) end
  if c == 0xdb then local n; n, at = decodeN(s, at, '>I4', 4) return decodeBytes(s, at, n) end
  if c == 0xdc then local n; n, at = decodeN(s, at, '>I2', 2) return decodeArray(s, at, n) end
  if c == 0xdd then local n; n, at = decodeN(s, at, '>I4', 4) return decodeArray(s, at, n) end
  if c == 0xde then local n; n, at = decodeN(s, at, '>I2', 2) return decodeMap(s, at, n) end
  if c == 0xdf then local n; n, at = decodeN(s, at, '>I4', 4) return decodeMap(s, at, n) end
  error('Bad data format in input.', 0)
end

-- Up to 'limit' values (0: all) from byte 'offset' (0-based): the offset after them (-1 at the end) and the values.
local function unpackFrom(s, limit, offset)
  if type(s) ~= 'string' then error('bad argument #1 to unpack (string expected, got ' .. type(s) .. ')', 0) end
  local values, n, at = {}, 0, offset + 1
  while at <= #s and (limit == 0 or n < limit) do
    n = n + 1
    values[n], at = decode(s, at)
  end
  return at > #s and -1 or at - 1, table.unpack(values, 1, n)
end

function cmsgpack.unpack(s)
  return select(2, unpackFrom(s, 0, 0))
end

function cmsgpack.unpack_one(s, offset)
  return unpackFrom(s, 1, offset or 0)
end

function cmsgpack.unpack_limit(s, limit, offset)
  return unpackFrom(s, limit, offset or 0)
end

return cmsgpack
`;
