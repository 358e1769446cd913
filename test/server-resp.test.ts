// The server's building blocks without a network: the RESP parser (split
// input, limits, inline commands), the command lookup, the reply encoder and
// buffer, the glob matcher and the settings' precedence.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { COMMANDS, lookupCommand } from '../src/server/command-table.js';
import { ConfigError, resolveConfig, size } from '../src/server/config.js';
import { globMatch, literalPrefix } from '../src/server/glob.js';
import { ProtocolError, RespParser, splitInline } from '../src/server/resp-parser.js';
import { ReplyBuffer } from '../src/server/reply-buffer.js';
import { array, asBuffer, bulk, bulkOrNil, error, map, verbatim, type Reply } from '../src/server/resp-writer.js';
import { exchange, resp, startTestServer } from './server-fixtures.js';
import { random } from './store-fixtures.js';
import { tempDir } from './xrp-fixtures.js';

const LIMITS = { maxBulkLen: 1024, maxArrayLen: 8, maxInlineLen: 64 };
const tmp = tempDir();
afterAll(() => tmp.remove());

function encode(args: (string | Buffer)[]): Buffer {
  const parts = args.map((a) => (typeof a === 'string' ? Buffer.from(a) : a));
  return Buffer.concat([Buffer.from(`*${parts.length}\r\n`), ...parts.flatMap((p) => [Buffer.from(`$${p.length}\r\n`), p, Buffer.from('\r\n')])]);
}

/** Every command in `input`, fed in the chunks `cuts` splits it into. */
function parseAll(input: Buffer, cuts: number[], limits = LIMITS): string[][] {
  const parser = new RespParser(limits);
  const out: string[][] = [];
  let from = 0;
  for (const to of [...cuts, input.length]) {
    parser.feed(input.subarray(from, to));
    from = to;
    for (let c = parser.next(); c; c = parser.next()) out.push(c.map((b) => b.toString('latin1')));
  }
  return out;
}

describe('RespParser', () => {
  const binary = Buffer.from([0, 13, 10, 255, 42, 36]);
  const commands = [['SET', 'k', binary.toString('latin1')], ['GET', 'k'], ['PING'], ['SET', '', '']];
  const input = Buffer.concat([...commands.map((c) => encode(c.map((s) => Buffer.from(s, 'latin1')))), Buffer.from('ECHO "a b\\x41" \'c\\\'d\'\r\n\r\nPING\n')]);
  const expected = [...commands, ['ECHO', 'a bA', "c'd"], ['PING']];

  it('parses pipelined arrays and inline commands, whole and split at every byte', () => {
    expect(parseAll(input, [])).toEqual(expected);
    for (let cut = 1; cut < input.length; cut++) expect(parseAll(input, [cut])).toEqual(expected);
    const rnd = random(7);
    for (let trial = 0; trial < 50; trial++) {
      const cuts = [...new Set(Array.from({ length: 6 }, () => 1 + rnd(input.length - 1)))].sort((a, b) => a - b);
      expect(parseAll(input, cuts)).toEqual(expected);
    }
  });

  it('assembles a large bulk string fed in many small chunks', () => {
    const value = Buffer.alloc(1000, 7);
    const cuts = Array.from({ length: 100 }, (_, i) => 1 + i * 10);
    expect(parseAll(encode(['SET', 'k', value]), cuts)).toEqual([['SET', 'k', value.toString('latin1')]]);
  });

  it('refuses input past the limits and malformed input with a ProtocolError', () => {
    const bad: [Buffer, RegExp][] = [
      [encode(['SET', 'k', Buffer.alloc(1025)]), /invalid bulk length/],
      [encode(Array.from({ length: 9 }, () => 'x')), /invalid multibulk length/],
      [Buffer.from('*2\r\n$3\r\nGET\r\n:1\r\n'), /expected '\$', got ':'/],
      [Buffer.from('*1\r\n$x\r\n'), /invalid bulk length/],
      [Buffer.from('*1\r\n$-1\r\n'), /invalid bulk length/],
      [Buffer.from('*abc\r\n'), /invalid multibulk length/],
      [Buffer.from('*1\r\n$3\r\nGETXX'), /expected CRLF/],
      [Buffer.from(`GET ${'k'.repeat(70)}`), /too big inline request/],
      [Buffer.from('GET "unclosed\r\n'), /unbalanced quotes/],
    ];
    for (const [bytes, message] of bad) {
      const parser = new RespParser(LIMITS);
      parser.feed(bytes);
      expect(() => parser.next(), bytes.toString('latin1')).toThrow(ProtocolError);
      const again = new RespParser(LIMITS);
      again.feed(bytes);
      expect(() => again.next()).toThrow(message);
      // The same error when the input comes a byte at a time, parsing resumed after each.
      const trickled = new RespParser(LIMITS);
      expect(() => {
        for (let i = 0; i < bytes.length; i++) {
          trickled.feed(bytes.subarray(i, i + 1));
          while (trickled.next());
        }
        trickled.feed(Buffer.from('\r\n'));
        while (trickled.next());
      }, bytes.toString('latin1')).toThrow(message);
    }
  });

  /** Feeds `input` in `size`-byte chunks, taking the commands after each; the most work (`examined`) one chunk cost. */
  function feedInChunks(parser: RespParser, input: Buffer, size: number): { commands: Buffer[][]; worstChunk: number } {
    const commands: Buffer[][] = [];
    let worstChunk = 0;
    for (let from = 0; from < input.length; from += size) {
      const before = parser.examined;
      parser.feed(input.subarray(from, from + size));
      for (let c = parser.next(); c; c = parser.next()) commands.push(c);
      worstChunk = Math.max(worstChunk, parser.examined - before);
    }
    return { commands, worstChunk };
  }

  it('parses a 1,000,000-element command fed in small chunks with work bounded per chunk', () => {
    const n = 1_000_000;
    const input = Buffer.concat([Buffer.from(`*${n}\r\n$4\r\nMGET\r\n`), Buffer.alloc((n - 1) * 9, '$3\r\nk:x\r\n'), encode(['PING'])]);
    const parser = new RespParser({ ...LIMITS, maxArrayLen: n });
    const { commands, worstChunk } = feedInChunks(parser, input, 1000);
    expect(commands.map((c) => c.length)).toEqual([n, 1]);
    expect(commands[0]![0]!.toString()).toBe('MGET');
    expect(commands[0]!.slice(1).every((k) => k.toString() === 'k:x')).toBe(true);
    // Each chunk's bytes are searched, and copied with the unfinished element before them, a few times at most.
    expect(worstChunk).toBeLessThan(4 * 1000);
    expect(parser.examined).toBeLessThan(4 * input.length);
  });

  it('assembles bulk strings and header lines split across reads, copying each byte a bounded number of times', () => {
    const value = Buffer.alloc(1_000_000, 'v');
    const input = Buffer.concat([encode(['SET', 'k', value]), encode(['SET', 'k2', value.subarray(0, 70_000)])]);
    for (const size of [7, 100, 1000, 65536]) {
      const parser = new RespParser({ ...LIMITS, maxBulkLen: value.length });
      const { commands } = feedInChunks(parser, input, size);
      expect(commands.map((c) => c.map((b) => b.length))).toEqual([
        [3, 1, 1_000_000],
        [3, 2, 70_000],
      ]);
      expect(commands[0]![2]!.equals(value)).toBe(true);
      expect(parser.examined).toBeLessThan(3 * input.length);
    }
    // A long line a byte at a time: its end is searched for once per byte, not from its start each time.
    const line = Buffer.from(`ECHO ${'x'.repeat(60_000)}\r\n`);
    const inline = new RespParser({ ...LIMITS, maxInlineLen: 64 * 1024 });
    expect(feedInChunks(inline, line, 1).commands.map((c) => c[1]!.length)).toEqual([60_000]);
    expect(inline.examined).toBeLessThan(3 * line.length);
    const header = new RespParser(LIMITS);
    expect(() => feedInChunks(header, Buffer.from(`*1\r\n$${'9'.repeat(70_000)}`), 1)).toThrow(/too big bulk count string/);
    expect(header.examined).toBeLessThan(3 * 70_000);
  });

  it('waits for more input instead of failing on an incomplete command', () => {
    const parser = new RespParser(LIMITS);
    parser.feed(Buffer.from('*2\r\n$3\r\nGET\r\n$5\r\nab'));
    expect(parser.next()).toBeUndefined();
    parser.feed(Buffer.from('cde\r\n'));
    expect(parser.next()?.map(String)).toEqual(['GET', 'abcde']);
    expect(parser.next()).toBeUndefined();
  });

  it('splits inline commands as Redis does', () => {
    const words = (s: string) => splitInline(Buffer.from(s, 'latin1')).map((b) => b.toString('latin1'));
    expect(words('  set  a   b ')).toEqual(['set', 'a', 'b']);
    expect(words('set "x\\ty\\n" \'it\\\'s\' "\\x00\\xff"')).toEqual(['set', 'x\ty\n', "it's", '\x00\xff']);
    expect(() => words('set "a"b')).toThrow(/unbalanced quotes/);
  });
});

describe('lookupCommand', () => {
  it('finds every command by its name in any ASCII case', () => {
    for (const [name, spec] of COMMANDS) {
      const mixed = [...name].map((c, i) => (i % 2 ? c.toUpperCase() : c)).join('');
      for (const sent of [name, name.toUpperCase(), mixed]) expect(lookupCommand(Buffer.from(sent))).toBe(spec);
    }
  });

  it('finds nothing for a name that only resembles one', () => {
    // 0xc5 and 0xe5 differ from 'E' and 'e' by the bits a case-folding shortcut would ignore.
    for (const sent of ['ge', 'gett', 'gex', 'g t', '', 'GET\0', 'get '].map((s) => Buffer.from(s, 'latin1')).concat([Buffer.from([0x67, 0xc5, 0x74]), Buffer.from([0x67, 0xe5, 0x74]), Buffer.from([0x47, 0x05, 0x54])])) {
      expect(lookupCommand(sent), JSON.stringify(sent.toString('latin1'))).toBeUndefined();
    }
  });
});

describe('ReplyBuffer', () => {
  const sizes = [0, 1, 9, 10, 32, 33, 99, 100, 999, 1000, 4096, 16 * 1024, 16 * 1024 + 1, 70_000];
  const value = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + n) & 0xff));

  it('sends what was appended, in order, as one Buffer: strings, Buffers and bulk values of every size', () => {
    const replies = new ReplyBuffer();
    const expected: Reply[] = [];
    for (const n of sizes) {
      replies.appendBulk(value(n));
      expected.push(bulk(value(n)));
      replies.append('+OK\r\n');
      expected.push('+OK\r\n');
      const encoded = asBuffer(bulk(value(n)));
      replies.append(encoded);
      expected.push(encoded);
      const text = `-ERR ${'x'.repeat(n % 200)}\r\n`;
      replies.append(text);
      expected.push(text);
    }
    expect(replies.empty).toBe(false);
    expect(replies.take()!.equals(Buffer.concat(expected.map(asBuffer)))).toBe(true);
    expect(replies.empty).toBe(true);
    expect(replies.take()).toBeUndefined();
  });

  it('never changes bytes it has handed out', () => {
    const replies = new ReplyBuffer();
    const sent: [Buffer, Buffer][] = [];
    for (let round = 0; round < 50; round++) {
      const expected: Buffer[] = [];
      for (let i = 0; i <= round; i++) {
        const v = value((round * 37 + i * 101) % 3000);
        replies.appendBulk(v);
        expected.push(asBuffer(bulk(v)));
      }
      const taken = replies.take()!;
      sent.push([taken, Buffer.concat(expected)]);
    }
    for (const [taken, expected] of sent) expect(taken.equals(expected)).toBe(true);
  });

  it('drops what was not taken on clear', () => {
    const replies = new ReplyBuffer();
    replies.appendBulk(value(100));
    replies.appendBulk(value(70_000));
    replies.clear();
    expect(replies.take()).toBeUndefined();
    replies.append('+PONG\r\n');
    expect(replies.take()!.toString('latin1')).toBe('+PONG\r\n');
  });
});

describe('reply encoding', () => {
  it('writes RESP2 and RESP3 forms', () => {
    expect(bulk(Buffer.from('hi'))).toBe('$2\r\nhi\r\n');
    expect(bulkOrNil(undefined, 2)).toBe('$-1\r\n');
    expect(bulkOrNil(undefined, 3)).toBe('_\r\n');
    expect(map([[bulk('a'), ':1\r\n']], 2)).toBe('*2\r\n$1\r\na\r\n:1\r\n');
    expect(map([[bulk('a'), ':1\r\n']], 3)).toBe('%1\r\n$1\r\na\r\n:1\r\n');
    expect(verbatim('x:1', 3)).toBe('=7\r\ntxt:x:1\r\n');
    expect(error('ERR a\r\nb')).toBe('-ERR a b\r\n');
    const big = Buffer.alloc(5000, 200);
    const reply = array([bulk('k'), bulk(big)]);
    expect(Buffer.isBuffer(reply)).toBe(true);
    expect((reply as Buffer).equals(Buffer.concat([Buffer.from('*2\r\n$1\r\nk\r\n$5000\r\n'), big, Buffer.from('\r\n')]))).toBe(true);
  });
});

describe('glob patterns', () => {
  const cases: [string, string, boolean][] = [
    ['*', '', true],
    ['*', 'anything', true],
    ['h?llo', 'hello', true],
    ['h?llo', 'hllo', false],
    ['h*llo', 'heeeello', true],
    ['h*llo', 'hello world', false],
    ['h[ae]llo', 'hallo', true],
    ['h[ae]llo', 'hillo', false],
    ['h[^e]llo', 'hallo', true],
    ['h[^e]llo', 'hello', false],
    ['h[a-b]llo', 'hbllo', true],
    ['h[b-a]llo', 'hallo', true],
    ['h[a-b]llo', 'hcllo', false],
    ['h\\*llo', 'h*llo', true],
    ['h\\*llo', 'hallo', false],
    ['a*b*c', 'aXXbYYbZc', true],
    ['a*b*c', 'aXXbYYbZ', false],
    ['key:[0-9]*', 'key:12', true],
    ['[\\]]', ']', true],
    ['ab[', 'ab', false],
  ];
  it.each(cases)('%s against %s', (pattern, s, matches) => {
    expect(globMatch(Buffer.from(pattern), Buffer.from(s))).toBe(matches);
  });

  it('finds the literal prefix a range scan can start from', () => {
    expect(literalPrefix(Buffer.from('user:*')).prefix.toString()).toBe('user:');
    expect(literalPrefix(Buffer.from('a\\*b?'))).toEqual({ prefix: Buffer.from('a*b'), exact: false });
    expect(literalPrefix(Buffer.from('exact'))).toEqual({ prefix: Buffer.from('exact'), exact: true });
  });
});

describe('settings', () => {
  const file = join(tmp.dir, 'xrpkv.conf');
  writeFileSync(file, '# a comment\nport 7001\nbind 127.0.0.2\nmaxclients 5\nmax-bulk-len 2mb\ndb "/tmp/from file.xrpkv"\n');

  it('takes flags over environment over the config file over defaults', () => {
    const fromFile = resolveConfig({ config: file }, {});
    expect(fromFile).toMatchObject({ port: 7001, bind: '127.0.0.2', maxclients: 5, maxBulkLen: 2 * 1024 * 1024, db: '/tmp/from file.xrpkv', lookup: 'auto' });
    const env = { XRPKV_CONFIG: file, XRPKV_PORT: '7002', XRPKV_MAX_BULK_LEN: '64kb' };
    expect(resolveConfig({}, env)).toMatchObject({ port: 7002, maxBulkLen: 65536, bind: '127.0.0.2' });
    expect(resolveConfig({ port: '7003', db: 'x.xrpkv' }, env)).toMatchObject({ port: 7003, db: 'x.xrpkv', maxclients: 5 });
    expect(resolveConfig({ db: 'd' }, {})).toMatchObject({ port: 6379, bind: '127.0.0.1', maxclients: 10000, requirepass: undefined });
  });

  it('names the source of a bad setting', () => {
    expect(() => resolveConfig({ db: 'd', port: '70000' }, {})).toThrow(/--port: expected a port/);
    expect(() => resolveConfig({ db: 'd' }, { XRPKV_LOOKUP: 'fast' })).toThrow(/XRPKV_LOOKUP: expected auto, walk or xrp/);
    expect(() => resolveConfig({}, {})).toThrow(ConfigError);
    const bad = join(tmp.dir, 'bad.conf');
    writeFileSync(bad, 'port 1\nspeed 11\n');
    expect(() => resolveConfig({ config: bad }, {})).toThrow(/bad\.conf:2: unknown setting 'speed'/);
    expect(() => resolveConfig({ config: join(tmp.dir, 'missing.conf') }, {})).toThrow(/cannot read the config file/);
    expect(size('512MB')).toBe(512 * 1024 * 1024);
    expect(() => size('12 parsecs')).toThrow(/expected a size/);
  });

  it('takes log-limit, a number of keys from 0, for the store', () => {
    expect(resolveConfig({ db: 'd' }, {}).logLimit).toBe(262_144);
    expect(resolveConfig({ db: 'd' }, { XRPKV_LOG_LIMIT: '0' }).logLimit).toBe(0);
    expect(resolveConfig({ db: 'd', 'log-limit': '65536' }, { XRPKV_LOG_LIMIT: '0' }).logLimit).toBe(65536);
    for (const bad of ['-1', '1.5', 'many', String(2 ** 24 + 1)]) {
      expect(() => resolveConfig({ db: 'd', 'log-limit': bad }, {}), bad).toThrow(/--log-limit: expected a number of keys/);
    }
  });

  it('opens the store with log-limit: 0 writes every commit to the tree, the default logs a SET', async () => {
    for (const [limit, logged] of [['0', 0], ['262144', 1]] as const) {
      const server = await startTestServer(tmp.dir, `log-limit-${limit}.xrpkv`, { 'log-limit': limit });
      try {
        const { reply } = await exchange(server.port, resp('SET', 'k', 'v'), 5000, (r) => r.length > 0);
        expect(reply).toBe('+OK\r\n');
        expect(server.db.stats().logKeys).toBe(logged);
      } finally {
        await server.close();
      }
    }
  });

  it('takes client-output-buffer-limit as Redis writes it, in a file line of several words too', () => {
    const MiB = 1024 * 1024;
    expect(resolveConfig({ db: 'd' }, {}).clientOutputBufferLimit).toEqual({ hard: 1024 * MiB, soft: 8 * MiB, softSeconds: 60 });
    const conf = join(tmp.dir, 'limit.conf');
    writeFileSync(conf, 'db d\nclient-output-buffer-limit normal 32mb 4mb 10\n');
    expect(resolveConfig({ config: conf }, {}).clientOutputBufferLimit).toEqual({ hard: 32 * MiB, soft: 4 * MiB, softSeconds: 10 });
    const env = { XRPKV_CLIENT_OUTPUT_BUFFER_LIMIT: 'normal 0 0 0' };
    expect(resolveConfig({ config: conf }, env).clientOutputBufferLimit).toEqual({ hard: 0, soft: 0, softSeconds: 0 });
    const flag = { config: conf, 'client-output-buffer-limit': 'pubsub 32mb 8mb 60 NORMAL 1gb 1k 5' };
    expect(resolveConfig(flag, env).clientOutputBufferLimit).toEqual({ hard: 1024 * MiB, soft: 1024, softSeconds: 5 });
    // Groups for client classes xrpkv does not have leave the normal limit as it was.
    expect(resolveConfig({ db: 'd', 'client-output-buffer-limit': 'replica 256mb 64mb 60' }, {}).clientOutputBufferLimit.hard).toBe(1024 * MiB);
    for (const bad of ['normal 1mb', '32mb 8mb 60', 'normal -1 0 0', 'normal 1mb 1mb 1.5', 'normal 1parsec 0 0', 'special 0 0 0']) {
      expect(() => resolveConfig({ db: 'd', 'client-output-buffer-limit': bad }, {}), bad).toThrow(/--client-output-buffer-limit: expected/);
    }
    writeFileSync(conf, 'db d\nmaxclients 5 6\n');
    expect(() => resolveConfig({ config: conf }, {})).toThrow(/limit\.conf:2: 'maxclients' takes one value, got 2/);
  });
});
