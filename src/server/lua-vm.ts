// The server's Lua: one Lua 5.4 state (wasmoon, Lua compiled to
// WebAssembly) per server, made into Redis's script sandbox by
// lua-prelude.ts. This file is the fence around wasmoon's raw C API:
// nothing else touches a Lua stack or the WebAssembly heap.
//
// What must hold:
// - values cross as bytes: a Lua string is copied out of the heap into a
//   Buffer and a Buffer into a Lua string with its length, so binary
//   values stay exact; integers cross as their decimal text, so 64-bit
//   integers stay exact;
// - every run leaves the Lua stack as it found it, whatever the script did;
// - a script is stopped (the prelude's `killed`, which pcall cannot catch)
//   once it has run past its deadline, checked every HOOK_EVERY
//   instructions; Lua's memory is capped at MEMORY_MAX (an allocation over
//   it fails as "not enough memory", the script's error);
// - an error the host raises from `redis.call` is a Lua error like any
//   other: the host's callback returns to Lua before it is raised.
import { createHash } from 'node:crypto';
import { LuaFactory, type LuaEngine } from 'wasmoon';
import { CJSON } from './lua-cjson.js';
import { CMSGPACK } from './lua-cmsgpack.js';
import { PRELUDE } from './lua-prelude.js';

/** Lua's type tags (lua.h). */
const T = { nil: 0, boolean: 1, number: 3, string: 4, table: 5 } as const;
const REGISTRY = -1001000; // LUA_REGISTRYINDEX for the default LUAI_MAXSTACK
const LUA_RIDX_GLOBALS = 2n;
const UPVALUE_1 = REGISTRY - 1;
const LUA_MULTRET = -1;
const MASK_COUNT = 1 << 3;
const HOOK_EVERY = 100_000;
/** Lua's own memory, at most (bytes). */
export const MEMORY_MAX = 64 * 1024 * 1024;

/** A Lua value as a script hands it to the host: what the reply conversion needs. */
export type LuaValue = null | boolean | { int: string } | { float: number } | Buffer | LuaTable;
export interface LuaTable {
  /** The array part, 1..n up to the first nil. */
  items: LuaValue[];
  ok?: Buffer;
  err?: Buffer;
}

/** What a host function answers a script: bytes, an integer, nil (false), a status or error table, or an array of these. */
export type HostValue = Buffer | bigint | null | { ok: Buffer } | { err: Buffer } | HostValue[];

/** The host functions a script calls (`redis.call` and friends), argument values as bytes. */
export interface ScriptHost {
  /** `redis.call(...)` or `redis.pcall(...)`: the command's reply (a `{ err }` the VM raises for `call`, returns for `pcall`). */
  command(args: (Buffer | number | undefined)[]): HostValue;
  log(level: number, message: Buffer): void;
}

/** How a run ended: the script's return value, or its error with the line it was raised at (-1: unknown). */
export type RunOutcome = { ok: true; value: LuaValue } | { ok: false; message: string; line: number; killed: boolean };

/** A compile error's text, as Lua gives it (`user_script:1: ...`). */
/** A function a library registered: its name, description and flags. */
export interface LoadedFunction {
  name: Buffer;
  description: Buffer | undefined;
  flags: string[];
}

export class LuaCompileError extends Error {
  override name = 'LuaCompileError';
}

interface Raw {
  HEAPU8: Uint8Array;
  HEAP32: Int32Array;
  _malloc(n: number): number;
  _free(p: number): void;
  _lua_tolstring(L: number, i: number, len: number): number;
  _lua_pushlstring(L: number, p: number, n: number): number;
  _lua_type(L: number, i: number): number;
  _lua_gettop(L: number): number;
  _lua_settop(L: number, i: number): void;
  _lua_isinteger(L: number, i: number): number;
  _lua_tonumberx(L: number, i: number, isnum: number): number;
  _lua_toboolean(L: number, i: number): number;
  _lua_pushvalue(L: number, i: number): void;
  _lua_rawgeti(L: number, i: number, n: bigint): number;
  _lua_rawseti(L: number, i: number, n: bigint): void;
  _lua_rawset(L: number, i: number): void;
  _lua_rotate(L: number, i: number, n: number): void;
  _lua_concat(L: number, n: number): void;
  _lua_pushlightuserdata(L: number, p: number): void;
  _lua_pushinteger(L: number, n: bigint): void;
  _lua_getfield(L: number, i: number, k: number): number;
  _lua_setfield(L: number, i: number, k: number): void;
  _lua_absindex(L: number, i: number): number;
  _lua_pcallk(L: number, nargs: number, nresults: number, msgh: number, ctx: number, k: number): number;
  _luaL_ref(L: number, t: number): number;
  _luaL_unref(L: number, t: number, ref: number): void;
  _lua_createtable(L: number, narr: number, nrec: number): void;
  _lua_pushnil(L: number): void;
  _lua_pushboolean(L: number, b: number): void;
  _lua_error(L: number): number;
  addFunction(f: (...a: number[]) => number | void, sig: string): number;
}

export class LuaVm {
  private readonly raw: Raw;
  private readonly L: number;
  /** A size_t out-parameter for lua_tolstring. */
  private readonly lenAt: number;
  private readonly refs: { msgh: number; killed: number; load: number; commit: number; remove: number; fcall: number };
  /** Each compiled script's function, by sha: its reference in the registry. */
  private readonly compiled = new Map<string, number>();
  /** C strings of the table fields the host reads and writes (a call through wasmoon's string wrappers cost more than the rest of a redis.call). */
  private readonly names: { ok: number; err: number; line: number };
  private host: ScriptHost | undefined;
  private deadline = Infinity;
  private killedRun = false;

  static async create(): Promise<LuaVm> {
    const engine = await new LuaFactory().createEngine({ openStandardLibs: true, injectObjects: false, enableProxy: false, traceAllocations: true });
    return new LuaVm(engine);
  }

  private constructor(private readonly engine: LuaEngine) {
    const g = engine.global;
    this.raw = g.lua.module as unknown as Raw;
    this.L = g.address;
    this.lenAt = this.raw._malloc(8);
    g.setMemoryMax(MEMORY_MAX);
    const lua = g.lua;
    const fn = (f: (L: number) => number) => this.raw.addFunction(f, 'ii');
    const call = fn((L) => this.command(L, true));
    const pcall = fn((L) => this.command(L, false));
    const sha1hex = fn((L) => {
      if (this.raw._lua_gettop(L) !== 1) return this.raise(L, 'wrong number of arguments');
      this.pushBytes(L, Buffer.from(sha1(this.bytesAt(L, 1) ?? Buffer.alloc(0)), 'latin1'));
      return 1;
    });
    const log = fn((L) => {
      if (this.raw._lua_gettop(L) < 2) return this.raise(L, 'redis.log() requires two arguments or more.');
      if (this.raw._lua_type(L, 1) !== T.number) return this.raise(L, 'First argument must be a number (log level).');
      const parts: Buffer[] = [];
      for (let i = 2; i <= this.raw._lua_gettop(L); i++) parts.push(this.bytesAt(L, i) ?? Buffer.from(''));
      this.host?.log(this.raw._lua_tonumberx(L, 1, 0), Buffer.concat(parts));
      return 0;
    });
    // Runs its upvalue, a Lua function, and raises its string errors with the
    // caller's position: Lua library functions (the prelude's, cjson's) then
    // err as C ones do, and a script's `return f()` keeps the script's
    // frame (Lua 5.4 makes no tail call into C), so its line is known.
    const trampoline = fn((L) => {
      const n = this.raw._lua_gettop(L);
      this.raw._lua_pushvalue(L, UPVALUE_1);
      this.raw._lua_rotate(L, 1, 1);
      if (lua.lua_pcallk(L, n, LUA_MULTRET, 0, 0, null) === 0) return this.raw._lua_gettop(L);
      if (this.raw._lua_type(L, -1) === T.string) {
        lua.luaL_where(L, 1);
        this.raw._lua_rotate(L, -2, 1);
        this.raw._lua_concat(L, 2);
      }
      return this.raw._lua_error(L);
    });
    const wrap = fn((L) => {
      this.raw._lua_settop(L, 1);
      lua.lua_pushcclosure(L, trampoline, 1);
      return 1;
    });
    this.raw._lua_pushlightuserdata(this.L, 0);
    if (lua.luaL_loadstring(this.L, CJSON) !== 0) throw new Error(`the Lua cjson does not compile: ${lua.lua_tolstring(this.L, -1, null)}`);
    this.raw._lua_rotate(this.L, 1, 1);
    if (lua.lua_pcallk(this.L, 1, 1, 0, 0, null) !== 0) throw new Error(`the Lua cjson does not load: ${lua.lua_tolstring(this.L, -1, null)}`);
    lua.lua_setglobal(this.L, 'cjson');
    if (lua.luaL_loadstring(this.L, CMSGPACK) !== 0 || lua.lua_pcallk(this.L, 0, 1, 0, 0, null) !== 0) throw new Error(`the Lua cmsgpack does not load: ${lua.lua_tolstring(this.L, -1, null)}`);
    lua.lua_setglobal(this.L, 'cmsgpack');
    if (lua.luaL_loadstring(this.L, PRELUDE) !== 0) throw new Error(`the Lua prelude does not compile: ${lua.lua_tolstring(this.L, -1, null)}`);
    for (const f of [call, pcall, sha1hex, log, wrap]) lua.lua_pushcclosure(this.L, f, 0);
    if (lua.lua_pcallk(this.L, 5, 1, 0, 0, null) !== 0) throw new Error(`the Lua prelude failed: ${lua.lua_tolstring(this.L, -1, null)}`);
    lua.lua_getfield(this.L, -1, 'msgh');
    const msgh = lua.luaL_ref(this.L, REGISTRY);
    lua.lua_getfield(this.L, -1, 'killed');
    const killed = lua.luaL_ref(this.L, REGISTRY);
    const ref = (field: string) => {
      lua.lua_getfield(this.L, -1, field);
      return lua.luaL_ref(this.L, REGISTRY);
    };
    const [load, commit, remove, fcall] = ['load_library', 'commit_library', 'remove_library', 'fcall'].map(ref) as [number, number, number, number];
    this.raw._lua_settop(this.L, 0);
    this.refs = { msgh, killed, load, commit, remove, fcall };
    const cString = (text: string) => this.copyIn(Buffer.from(`${text}\0`, 'latin1'));
    this.names = { ok: cString('ok'), err: cString('err'), line: cString('line') };
    const hook = this.raw.addFunction((L: number) => {
      if (Date.now() <= this.deadline && !this.killedRun) return;
      this.killedRun = true;
      this.raw._lua_rawgeti(L, REGISTRY, BigInt(this.refs.killed));
      this.raw._lua_error(L);
    }, 'vii');
    lua.lua_sethook(this.L, hook, MASK_COUNT, HOOK_EVERY);
  }

  /** Compiles `source` as script `sha` (kept until `forget`); LuaCompileError with Lua's message when it does not compile. */
  compile(sha: string, source: Buffer): void {
    const lua = this.engine.global.lua;
    const p = this.copyIn(source);
    const status = lua.luaL_loadbufferx(this.L, p, source.length, '@user_script', 't');
    this.raw._free(p);
    if (status !== 0) {
      const message = this.bytesAt(this.L, -1)?.toString('utf8') ?? 'unknown error';
      this.raw._lua_settop(this.L, 0);
      throw new LuaCompileError(message);
    }
    this.compiled.set(sha, this.raw._luaL_ref(this.L, REGISTRY));
    this.raw._lua_settop(this.L, 0);
  }

  /** Whether script `sha` is compiled. */
  has(sha: string): boolean {
    return this.compiled.has(sha);
  }

  /** Drops compiled script `sha`. */
  forget(sha: string): void {
    const ref = this.compiled.get(sha);
    if (ref === undefined) return;
    this.compiled.delete(sha);
    this.raw._luaL_unref(this.L, REGISTRY, ref);
  }

  /**
   * Runs compiled script `sha` with KEYS and ARGV, its `redis.*` calls
   * answered by `host`, stopped once `deadline` (ms since the epoch) has
   * passed. Synchronous.
   */
  run(sha: string, keys: Buffer[], argv: Buffer[], host: ScriptHost, deadline: number): RunOutcome {
    const ref = this.compiled.get(sha);
    if (ref === undefined) throw new Error(`script ${sha} is not compiled`);
    this.setArray('KEYS', keys);
    this.setArray('ARGV', argv);
    return this.call(host, deadline, () => {
      this.raw._lua_rawgeti(this.L, REGISTRY, BigInt(ref));
      return 0;
    });
  }

  /**
   * Runs FCALL's function `name` (loaded by loadLibrary and commitLibrary)
   * with its keys and arguments, as `run` runs a script. KEYS and ARGV are
   * no globals then (as in Redis's function engine): a function gets its
   * own, and sees no script's.
   */
  callFunction(name: Buffer, keys: Buffer[], argv: Buffer[], host: ScriptHost, deadline: number): RunOutcome {
    this.setArray('KEYS', undefined);
    this.setArray('ARGV', undefined);
    return this.call(host, deadline, () => {
      this.raw._lua_rawgeti(this.L, REGISTRY, BigInt(this.refs.fcall));
      this.pushBytes(this.L, name);
      this.pushArray(this.L, keys);
      this.pushArray(this.L, argv);
      return 3;
    });
  }

  /** Calls what `push` pushes (a function and its `n` arguments, n returned) under the message handler; the outcome. */
  private call(host: ScriptHost, deadline: number, push: () => number): RunOutcome {
    const L = this.L;
    this.host = host;
    this.deadline = deadline;
    this.killedRun = false;
    try {
      this.raw._lua_rawgeti(L, REGISTRY, BigInt(this.refs.msgh));
      const n = push();
      const status = this.raw._lua_pcallk(L, n, 1, 1, 0, 0);
      if (status === 0) return { ok: true, value: this.valueAt(L, -1, 0) };
      if (this.killedRun) return { ok: false, message: '', line: -1, killed: true };
      const e = this.valueAt(L, -1, 0);
      if (e !== null && typeof e === 'object' && 'items' in e && e.err) {
        this.raw._lua_getfield(L, -1, this.names.line);
        const line = Number(this.raw._lua_tonumberx(L, -1, 0));
        return { ok: false, message: e.err.toString('utf8'), line, killed: false };
      }
      // Not from the handler: Lua ran out of memory before or inside it.
      return { ok: false, message: `ERR ${this.bytesAt(L, -1)?.toString('utf8') ?? 'the script failed'}`, line: -1, killed: false };
    } finally {
      this.raw._lua_settop(L, 0);
      this.host = undefined;
      this.deadline = Infinity;
    }
  }

  /**
   * Runs a library's code (after its shebang line) where its globals are
   * the load API, stopped at `deadline`: the functions it registered
   * (staged: installed by commitLibrary, dropped by the next load), or
   * Redis's error text.
   */
  loadLibrary(code: Buffer, deadline: number): { ok: true; functions: LoadedFunction[] } | { ok: false; message: string } {
    const L = this.L;
    this.deadline = deadline;
    this.killedRun = false;
    try {
      this.raw._lua_rawgeti(L, REGISTRY, BigInt(this.refs.load));
      this.pushBytes(L, code);
      if (this.raw._lua_pcallk(L, 1, 1, 0, 0, 0) !== 0) return { ok: false, message: `ERR Error registering functions: ${this.bytesAt(L, -1)?.toString('utf8') ?? 'not enough memory'}` };
      const v = this.valueAt(L, -1, 0) as LuaTable;
      if (v.err) return { ok: false, message: v.err.toString('utf8') };
      const functions = v.items.map((item) => {
        const [name, desc, flags] = (item as LuaTable).items as [Buffer, Buffer | false, LuaTable];
        return { name, description: desc === false ? undefined : desc, flags: flags.items.map((f) => (f as Buffer).toString('latin1')) };
      });
      return { ok: true, functions };
    } finally {
      this.raw._lua_settop(L, 0);
      this.deadline = Infinity;
    }
  }

  /** Installs the library loadLibrary staged as `name`. */
  commitLibrary(name: Buffer): void {
    this.callRef(this.refs.commit, name);
  }

  /** Removes library `name` and its functions. */
  removeLibrary(name: Buffer): void {
    this.callRef(this.refs.remove, name);
  }

  private callRef(ref: number, arg: Buffer): void {
    this.raw._lua_rawgeti(this.L, REGISTRY, BigInt(ref));
    this.pushBytes(this.L, arg);
    const status = this.raw._lua_pcallk(this.L, 1, 0, 0, 0, 0);
    this.raw._lua_settop(this.L, 0);
    if (status !== 0) throw new Error('the Lua library registry failed');
  }

  /** Lua's memory in use (bytes). */
  get memoryUsed(): number {
    return this.engine.global.getMemoryUsed();
  }

  close(): void {
    this.engine.global.close();
  }

  // ---- the host's side of redis.call -------------------------------------

  private command(L: number, raise: boolean): number {
    const n = this.raw._lua_gettop(L);
    const args: (Buffer | number | undefined)[] = [];
    for (let i = 1; i <= n; i++) {
      const t = this.raw._lua_type(L, i);
      if (t === T.string) args.push(this.bytesAt(L, i)!);
      else if (t === T.number) args.push(this.raw._lua_isinteger(L, i) ? this.bytesAt(L, i)! : this.raw._lua_tonumberx(L, i, 0));
      else args.push(undefined);
    }
    let reply: HostValue;
    try {
      reply = this.host!.command(args);
    } catch (e) {
      reply = { err: Buffer.from(`ERR ${e instanceof Error ? e.message : String(e)}`) };
    }
    this.raw._lua_settop(L, 0);
    this.push(L, reply);
    if (raise && reply !== null && typeof reply === 'object' && 'err' in reply) return this.raw._lua_error(L);
    return 1;
  }

  private raise(L: number, message: string): number {
    this.pushBytes(L, Buffer.from(message));
    return this.raw._lua_error(L);
  }

  // ---- values across -------------------------------------------------------

  private push(L: number, v: HostValue): void {
    if (v === null) this.raw._lua_pushboolean(L, 0);
    else if (Buffer.isBuffer(v)) this.pushBytes(L, v);
    else if (typeof v === 'bigint') this.raw._lua_pushinteger(L, BigInt.asIntN(64, v));
    else if (Array.isArray(v)) {
      this.raw._lua_createtable(L, v.length, 0);
      v.forEach((item, i) => {
        this.push(L, item);
        this.raw._lua_rawseti(L, -2, BigInt(i + 1));
      });
    } else {
      this.raw._lua_createtable(L, 0, 1);
      const [field, text] = 'ok' in v ? [this.names.ok, v.ok] : [this.names.err, v.err];
      this.pushBytes(L, text);
      this.raw._lua_setfield(L, -2, field);
    }
  }

  /** The value at `i` for the reply: tables to `depth` 64 (deeper: nil, as an error would lose the reply). */
  private valueAt(L: number, i: number, depth: number): LuaValue {
    switch (this.raw._lua_type(L, i)) {
      case T.boolean:
        return this.raw._lua_toboolean(L, i) !== 0;
      case T.number:
        return this.raw._lua_isinteger(L, i) ? { int: this.bytesAt(L, i)!.toString('latin1') } : { float: this.raw._lua_tonumberx(L, i, 0) };
      case T.string:
        return this.bytesAt(L, i)!;
      case T.table: {
        if (depth >= 64) return null;
        const at = this.raw._lua_absindex(L, i);
        const table: LuaTable = { items: [] };
        for (const field of ['err', 'ok'] as const) {
          if (this.raw._lua_getfield(L, at, this.names[field]) === T.string) table[field] = this.bytesAt(L, -1)!;
          this.raw._lua_settop(L, -2);
        }
        for (let n = 1; ; n++) {
          const t = this.raw._lua_rawgeti(L, at, BigInt(n));
          if (t === T.nil) {
            this.raw._lua_settop(L, -2);
            break;
          }
          table.items.push(this.valueAt(L, -1, depth + 1));
          this.raw._lua_settop(L, -2);
        }
        return table;
      }
      default:
        return null;
    }
  }

  /** Pushes an array of `items`. */
  private pushArray(L: number, items: Buffer[]): void {
    this.raw._lua_createtable(L, items.length, 0);
    items.forEach((item, i) => {
      this.pushBytes(L, item);
      this.raw._lua_rawseti(L, -2, BigInt(i + 1));
    });
  }

  /** Sets global `name` to an array of `items`, or removes it (rawset: the globals table is read-only to scripts). */
  private setArray(name: string, items: Buffer[] | undefined): void {
    const L = this.L;
    this.raw._lua_rawgeti(L, REGISTRY, LUA_RIDX_GLOBALS);
    this.pushBytes(L, Buffer.from(name));
    if (items === undefined) this.raw._lua_pushnil(L);
    else this.pushArray(L, items);
    this.raw._lua_rawset(L, -3);
    this.raw._lua_settop(L, 0);
  }

  /** A string (or number, converted in place) at `i` as bytes; undefined for other types. */
  private bytesAt(L: number, i: number): Buffer | undefined {
    const p = this.raw._lua_tolstring(L, i, this.lenAt);
    if (p === 0) return undefined;
    const n = this.raw.HEAP32[this.lenAt >> 2]!;
    return Buffer.from(this.raw.HEAPU8.subarray(p, p + n));
  }

  private pushBytes(L: number, b: Buffer): void {
    const p = this.copyIn(b);
    this.raw._lua_pushlstring(L, p, b.length);
    this.raw._free(p);
  }

  private copyIn(b: Buffer): number {
    const p = this.raw._malloc(Math.max(1, b.length));
    this.raw.HEAPU8.set(b, p);
    return p;
  }
}


/** SHA-1 of `b` as 40 lower-case hex digits (script names). */
export function sha1(b: Buffer): string {
  return createHash('sha1').update(b).digest('hex');
}
