// Redis 7's functions: libraries of Lua functions loaded with FUNCTION LOAD
// and called with FCALL (commands-functions.ts). The Lua side (the load
// environment, the functions by name) is lua-prelude.ts's; this keeps what
// FUNCTION LIST shows and checks what Redis checks, and keeps each
// library's code in the database file (a named database of the store,
// which FLUSHALL and DBSIZE do not see, as Redis keeps functions apart
// from the keyspace), so that libraries are loaded again at startup.
//
// What must hold:
// - the Lua side and `libraries` name the same libraries and functions;
// - a library is in the file once FUNCTION LOAD has answered, and gone from
//   it once FUNCTION DELETE or FLUSH has;
// - a FUNCTION LOAD or RESTORE that fails changes nothing.
import { ReplyError } from './command-spec.js';
import type { Database } from '../store/db.js';
import type { LoadedFunction, LuaVm } from './lua-vm.js';

/** How long a library's code may run as it loads (Redis's LOAD_TIMEOUT_MS). */
const LOAD_TIMEOUT_MS = 500;
/** The named database of the store that holds the libraries' code, by name. */
export const FUNCTIONS_DB = 'xrpkv:functions';

export interface Library {
  name: Buffer;
  code: Buffer;
  functions: LoadedFunction[];
}

type Store = Pick<Database<Buffer, Buffer>, 'put' | 'remove' | 'getRange' | 'transaction'>;

/** A library's name and code after its shebang line (`#!lua name=...`), with Redis's errors. */
function metadata(code: Buffer): { name: Buffer; body: Buffer } {
  if (code[0] !== 0x23 || code[1] !== 0x21) throw new ReplyError('ERR Missing library metadata');
  const end = code.indexOf(0x0a);
  if (end < 0) throw new ReplyError('ERR Invalid library metadata');
  const parts = code.subarray(0, end).toString('latin1').trim().split(/\s+/);
  if (parts[0] === undefined || parts[0] === '') throw new ReplyError('ERR Invalid library metadata');
  const engine = parts[0].slice(2);
  let name: string | undefined;
  for (const part of parts.slice(1)) {
    if (part.toLowerCase().startsWith('name=')) {
      if (name !== undefined) throw new ReplyError('ERR Invalid metadata value, name argument was given multiple times');
      name = part.slice(5);
    } else throw new ReplyError(`ERR Invalid metadata value given: ${part}`);
  }
  if (name === undefined) throw new ReplyError('ERR Library name was not given');
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new ReplyError('ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long');
  if (engine.toLowerCase() !== 'lua') throw new ReplyError(`ERR Engine '${engine}' not found`);
  return { name: Buffer.from(name, 'latin1'), body: code.subarray(end) };
}

export class Functions {
  /** Libraries by name (latin1), in the order loaded. */
  private readonly libraries = new Map<string, Library>();
  /** Each function's library, by the function's name (latin1). */
  private readonly owners = new Map<string, Library>();

  constructor(
    private readonly vm: LuaVm,
    /** The named database the code is kept in (a function: the store may be reopened); undefined for `false` when there is none yet. */
    private readonly named: (create: boolean) => Store | undefined,
  ) {}

  private store(): Store {
    return this.named(true)!;
  }

  /** Loads the libraries kept in the file (at startup; a file without them gets no named database for them). */
  restore(): void {
    for (const { value } of this.named(false)?.getRange() ?? []) {
      try {
        this.install(value, false);
      } catch (e) {
        console.error(`xrpkv serve: a stored function library does not load: ${(e as Error).message}`);
      }
    }
  }

  /** Compiles and checks `code` (nothing installed); its library, and the one it replaces. */
  private prepare(code: Buffer, replace: boolean, others: Map<string, Library> = this.libraries, collisions = true): { lib: Library; old: Library | undefined } {
    const { name, body } = metadata(code);
    const old = others.get(name.toString('latin1'));
    if (old !== undefined && !replace) throw new ReplyError(`ERR Library '${name.toString('latin1')}' already exists`);
    const loaded = this.vm.loadLibrary(body, Date.now() + LOAD_TIMEOUT_MS);
    if (!loaded.ok) throw new ReplyError(loaded.message);
    if (loaded.functions.length === 0) throw new ReplyError('ERR No functions registered');
    for (const f of collisions ? loaded.functions : []) {
      const owner = this.owners.get(f.name.toString('latin1'));
      if (owner !== undefined && owner !== old) throw new ReplyError(`ERR Function ${f.name.toString('latin1')} already exists`);
    }
    return { lib: { name, code, functions: loaded.functions }, old };
  }

  /** Installs the library the last `prepare` staged. */
  private link(lib: Library, old: Library | undefined): void {
    if (old !== undefined) this.unlink(old);
    this.vm.commitLibrary(lib.name);
    this.libraries.set(lib.name.toString('latin1'), lib);
    for (const f of lib.functions) this.owners.set(f.name.toString('latin1'), lib);
  }

  private unlink(lib: Library): void {
    this.vm.removeLibrary(lib.name);
    this.libraries.delete(lib.name.toString('latin1'));
    for (const f of lib.functions) this.owners.delete(f.name.toString('latin1'));
  }

  private install(code: Buffer, replace: boolean): Library {
    const { lib, old } = this.prepare(code, replace);
    this.link(lib, old);
    return lib;
  }

  /** FUNCTION LOAD: the library's name; `durable` settles once its code is in the file. */
  load(code: Buffer, replace: boolean): { name: Buffer; durable: Promise<void> } {
    const lib = this.install(code, replace);
    return { name: lib.name, durable: this.store().put(lib.name, code) };
  }

  /** FUNCTION DELETE; false when there is no such library. */
  delete(name: Buffer): Promise<boolean> {
    const lib = this.libraries.get(name.toString('latin1'));
    if (lib === undefined) return Promise.resolve(false);
    this.unlink(lib);
    return this.store()
      .remove(lib.name)
      .then(() => true);
  }

  /** FUNCTION FLUSH. */
  flush(): Promise<void> {
    const names = [...this.libraries.values()].map((l) => l.name);
    for (const lib of [...this.libraries.values()]) this.unlink(lib);
    return this.store().transaction((tx) => {
      for (const name of names) tx.remove(name);
    });
  }

  /**
   * FUNCTION RESTORE: libraries' code, with Redis's policies (FLUSH: they
   * replace every library; APPEND: none may exist; REPLACE: they replace
   * those of their names). All are checked before any is installed.
   */
  restoreAll(codes: Buffer[], policy: 'flush' | 'append' | 'replace'): Promise<void> {
    const kept = new Map(policy === 'flush' ? [] : this.libraries);
    const ready: Library[] = [];
    const planned = new Map<string, Library>(); // function name -> its library in the result
    for (const lib of kept.values()) for (const f of lib.functions) planned.set(f.name.toString('latin1'), lib);
    for (const code of codes) {
      const { name } = metadata(code);
      const existing = kept.get(name.toString('latin1'));
      if (existing !== undefined && policy === 'append') throw new ReplyError(`ERR Library ${name.toString('latin1')} already exists`);
      const { lib } = this.prepare(code, true, new Map(), false);
      if (existing !== undefined) for (const f of existing.functions) planned.delete(f.name.toString('latin1'));
      for (const f of lib.functions) {
        if (planned.has(f.name.toString('latin1'))) throw new ReplyError(`ERR Function ${f.name.toString('latin1')} already exists`);
        planned.set(f.name.toString('latin1'), lib);
      }
      kept.set(name.toString('latin1'), lib);
      ready.push(lib);
    }
    // Checked: install (each staged again, as one library is staged at a time).
    if (policy === 'flush') for (const lib of [...this.libraries.values()]) this.unlink(lib);
    for (const lib of ready) {
      const old = this.libraries.get(lib.name.toString('latin1'));
      if (old !== undefined) this.unlink(old);
      const loaded = this.vm.loadLibrary(metadata(lib.code).body, Date.now() + LOAD_TIMEOUT_MS);
      if (!loaded.ok) throw new Error(`a checked library failed to load again: ${loaded.message}`);
      this.link(lib, undefined);
    }
    const removed = policy === 'flush' ? [...(this.storedNames() ?? [])] : [];
    return this.store().transaction((tx) => {
      for (const name of removed) tx.remove(name);
      for (const lib of ready) tx.put(lib.name, lib.code);
    });
  }

  private storedNames(): Buffer[] {
    return [...(this.named(false)?.getRange() ?? [])].map(({ key }) => key).filter((k) => !this.libraries.has(k.toString('latin1')));
  }

  /** Every library, in the order loaded. */
  list(): Library[] {
    return [...this.libraries.values()];
  }

  /** Function `name` and its library, or undefined. */
  find(name: Buffer): { lib: Library; fn: LoadedFunction } | undefined {
    const lib = this.owners.get(name.toString('latin1'));
    const fn = lib?.functions.find((f) => f.name.equals(name));
    return lib && fn && { lib, fn };
  }
}
