// open()'s options: unknown ones are TypeErrors naming them, lmdb-js's names
// (`encoding`, `noSync`) mean what ours do, `readOnly: true` is refused, and
// the key and value encodings are recorded in the file (meta bytes 112, 113):
// reopening takes them, a different explicit one is an EncodingMismatchError,
// and a file from before the record opens with the options or the defaults.
import { closeSync, existsSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EncodingMismatchError, UnsupportedError, open, type OpenOptions } from '../src/index.js';
import { KEY_ENCODING_CODES, VALUE_ENCODING_CODES } from '../src/format/meta.js';
import { seal } from '../src/format/page.js';
import { layout } from './store-fixtures.js';
import { tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.remove());
let seq = 0;
const pathOf = () => join(tmp.dir, `${seq++}.db`);

/** Both meta pages rewritten as version 3 wrote them: no encodings recorded. */
function asVersion3(path: string, pageSize: number): void {
  const fd = openSync(path, 'r+');
  try {
    for (const slot of [0, 1]) {
      const page = Buffer.alloc(pageSize);
      readSync(fd, page, 0, pageSize, slot * pageSize);
      page.writeUInt32LE(3, 40);
      page.fill(0, 112, 114);
      writeSync(fd, seal(page), 0, pageSize, slot * pageSize);
    }
  } finally {
    closeSync(fd);
  }
}

describe('option names', () => {
  it('an unknown option is a TypeError naming it, and creates no file', () => {
    const path = pathOf();
    expect(() => open(path, { pagesize: 512 } as OpenOptions)).toThrow(/unknown option 'pagesize'/);
    expect(() => open(path, { compression: true } as OpenOptions)).toThrow(/unknown option 'compression' \(an lmdb-js option xrpkv does not have\)/);
    expect(() => open(path, { compression: true } as OpenOptions)).toThrow(TypeError);
    expect(existsSync(path)).toBe(false);
  });

  it("readOnly: true on a missing file is StoreError NOT_FOUND and creates nothing; readOnly: false opens", async () => {
    const path = pathOf();
    expect(() => open(path, { readOnly: true })).toThrow(expect.objectContaining({ name: 'StoreError', code: 'NOT_FOUND' }));
    expect(() => open(path, { readOnly: true })).toThrow(/read-only handle opens an existing database only/);
    expect(existsSync(path)).toBe(false);
    expect(() => open(path, { readOnly: 'yes' } as never)).toThrow(TypeError);
    const db = open(path, { readOnly: false });
    await db.put('a', 1);
    await db.close();
  });

  it('mapReads is a boolean; read-only handles read with pread unless asked, writable ones through the map where the addon can', async () => {
    const path = pathOf();
    expect(() => open(path, { mapReads: 1 } as never)).toThrow(/mapReads must be a boolean/);
    expect(existsSync(path)).toBe(false);
    const writer = open(path);
    await writer.put('a', 1);
    const mapped = writer.stats().mapReads;
    // x86_64 guards map reads; elsewhere there are none.
    expect(mapped).toBe(process.arch === 'x64');
    await writer.close();
    const reader = open(path, { readOnly: true });
    expect(reader.stats().mapReads).toBe(false);
    await reader.close();
    const asked = open(path, { readOnly: true, mapReads: true });
    expect(asked.stats().mapReads).toBe(mapped);
    expect(await asked.get('a')).toBe(1);
    await asked.close();
    const refused = open(path, { mapReads: false });
    expect(refused.stats().mapReads).toBe(false);
    await refused.close();
  });

  it("lmdb-js's encoding is valueEncoding, and noSync is sync: false", async () => {
    const path = pathOf();
    expect(() => open(path, { encoding: 'cbor' } as never)).toThrow(RangeError);
    expect(() => open(path, { encoding: 'json', valueEncoding: 'msgpack' })).toThrow(TypeError);
    expect(() => open(path, { sync: true, noSync: true })).toThrow(TypeError);
    const db = open(path, { encoding: 'json', noSync: true });
    expect(db.valueEncoding).toBe('json');
    await db.put('a', { n: [1, 2] });
    expect(db.getBinaryFast('a')!.toString()).toBe('{"n":[1,2]}');
    await db.close();
    const again = open(path, { encoding: 'json', valueEncoding: 'json' });
    expect(again.getSync('a')).toEqual({ n: [1, 2] });
    await again.close();
  });
});

describe('recorded encodings', () => {
  it('a new file records its encodings; reopening without options takes them', async () => {
    const path = pathOf();
    const db = open<Buffer, Buffer>(path, { pageSize: 512, keyEncoding: 'binary', valueEncoding: 'binary' });
    await db.put(Buffer.from('k'), Buffer.from([0x80, 0x81]));
    await db.close();
    const { meta } = layout(path, 512);
    expect([meta.keyEncoding, meta.valueEncoding]).toEqual([KEY_ENCODING_CODES.binary, VALUE_ENCODING_CODES.binary]);
    const again = open<Buffer, Buffer>(path);
    expect([again.keyEncoding, again.valueEncoding]).toEqual(['binary', 'binary']);
    expect(again.getSync(Buffer.from('k'))).toEqual(Buffer.from([0x80, 0x81]));
    await again.close();
  });

  it("the codes are docs/FORMAT.md's, at bytes 112 and 113 of the meta page", async () => {
    const format = readFileSync(new URL('../docs/FORMAT.md', import.meta.url), 'utf8');
    const documented = (offset: number) => {
      const row = format.split('\n').find((line) => line.startsWith(`| ${offset} | 1 |`))!;
      return Object.fromEntries([...row.matchAll(/(\d) `([a-z-]+)`/g)].map((m) => [m[2], Number(m[1])]));
    };
    expect(documented(112)).toEqual(KEY_ENCODING_CODES);
    expect(documented(113)).toEqual(VALUE_ENCODING_CODES);
    const path = pathOf();
    await open(path, { pageSize: 512, keyEncoding: 'binary', valueEncoding: 'json' }).close();
    const file = readFileSync(path);
    for (const slot of [0, 1]) {
      expect([file[slot * 512 + 112], file[slot * 512 + 113]]).toEqual([KEY_ENCODING_CODES.binary, VALUE_ENCODING_CODES.json]);
    }
  });

  it('a different explicit encoding is an EncodingMismatchError, and leaves the file as it was', async () => {
    const path = pathOf();
    const db = open(path, { valueEncoding: 'string' });
    await db.put('k', 'text');
    await db.close();
    let error: unknown;
    try {
      open(path, { valueEncoding: 'msgpack' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EncodingMismatchError);
    expect(error).toMatchObject({ code: 'ENCODING_MISMATCH', which: 'valueEncoding', recorded: 'string', asked: 'msgpack' });
    expect(() => open(path, { keyEncoding: 'binary' })).toThrow(/keyEncoding 'ordered-binary', not 'binary'/);
    // The lock was released and nothing changed.
    const again = open(path, { valueEncoding: 'string' });
    expect(again.getSync('k')).toBe('text');
    await again.close();
  });

  it('a file that records none (version 3) opens with the defaults, and records explicit ones at its next commit', async () => {
    const path = pathOf();
    const first = open<string, Buffer>(path, { pageSize: 512, valueEncoding: 'binary' });
    await first.put('k', Buffer.from('raw'));
    await first.close();
    asVersion3(path, 512);
    expect(layout(path, 512).meta.valueEncoding).toBeUndefined();
    // No option: the defaults, and nothing recorded (msgpack cannot read these bytes, as before records existed).
    const guessed = open(path, { pageSize: 512 });
    expect(guessed.valueEncoding).toBe('msgpack');
    await guessed.put('other', 1);
    await guessed.remove('other');
    await guessed.close();
    expect(layout(path, 512).meta.valueEncoding).toBeUndefined();
    // Explicit: used, and recorded by the next commit (the key encoding, not given, stays unrecorded).
    const told = open<string, Buffer>(path, { pageSize: 512, valueEncoding: 'binary' });
    expect(told.getSync('k')).toEqual(Buffer.from('raw'));
    await told.put('k2', Buffer.from('more'));
    await told.close();
    const { meta } = layout(path, 512);
    expect([meta.keyEncoding, meta.valueEncoding]).toEqual([undefined, VALUE_ENCODING_CODES.binary]);
    const again = open<string, Buffer>(path);
    expect(again.valueEncoding).toBe('binary');
    expect(again.getSync('k2')).toEqual(Buffer.from('more'));
    await again.close();
  });

  it('a code this version does not know is an UnsupportedError', async () => {
    const path = pathOf();
    await open(path, { pageSize: 512 }).close();
    const fd = openSync(path, 'r+');
    for (const slot of [0, 1]) {
      const page = Buffer.alloc(512);
      readSync(fd, page, 0, 512, slot * 512);
      page[113] = 99;
      writeSync(fd, seal(page), 0, 512, slot * 512);
    }
    closeSync(fd);
    expect(() => open(path)).toThrow(UnsupportedError);
    expect(() => open(path)).toThrow(/valueEncoding code 99/);
  });
});
