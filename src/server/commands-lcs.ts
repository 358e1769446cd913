// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]: the longest
// common subsequence of two strings, with Redis 7.0's dynamic programming
// and its walk back through the table, so that which matches IDX reports
// (and in which order) is Redis's. The table is (a + 1) * (b + 1) 32-bit
// counts: refused, as Redis 7.2 refuses it, where that would be more than
// proto-max-bulk-len bytes.
import { ReplyError, SYNTAX, dataCommand, int64, word } from './command-spec.js';
import { KeyType } from './layout.js';
import { array, bulk, integer, map } from './resp-writer.js';

export const LCS = dataCommand(
  'lcs',
  { arity: -3, flags: ['readonly'], firstKey: 1, lastKey: 2, step: 1, group: 'string', access: 'read', summary: 'The longest common subsequence of two strings (LEN: its length; IDX: where its matches are).', since: '7.0.0' },
  (cmd, args) => {
    const strings = [args[1]!, args[2]!].map((key) => {
      const found = cmd.data.read(key);
      if (found !== undefined && found.meta.type !== KeyType.String) throw new ReplyError('ERR The specified keys must contain string values');
      return found?.value ?? Buffer.alloc(0);
    });
    let getLen = false;
    let getIdx = false;
    let withMatchLen = false;
    let minMatchLen = 0;
    for (let i = 3; i < args.length; i++) {
      const w = word(args[i]);
      if (w === 'idx') getIdx = true;
      else if (w === 'len') getLen = true;
      else if (w === 'withmatchlen') withMatchLen = true;
      else if (w === 'minmatchlen' && i + 1 < args.length) {
        const n = int64(args[++i]!);
        minMatchLen = n < 0n ? 0 : Number(n);
      } else throw SYNTAX();
    }
    if (getLen && getIdx) throw new ReplyError('ERR If you want both the length and indexes, please just use IDX.');
    const [a, b] = strings as [Buffer, Buffer];
    const cells = (a.length + 1) * (b.length + 1);
    if (cells * 4 > cmd.server.config.maxBulkLen) throw new ReplyError('ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len');
    const width = b.length + 1;
    const dp = new Uint32Array(cells);
    for (let i = 1; i <= a.length; i++) {
      for (let j = 1; j <= b.length; j++) {
        dp[i * width + j] = a[i - 1] === b[j - 1] ? dp[(i - 1) * width + j - 1]! + 1 : Math.max(dp[(i - 1) * width + j]!, dp[i * width + j - 1]!);
      }
    }
    const length = dp[a.length * width + b.length]!;
    if (getLen) return integer(length);
    // Walked back from the end: the subsequence's bytes last first, and the matching ranges as Redis emits them.
    const result = Buffer.alloc(length);
    const matches = [];
    let idx = length;
    let aStart = a.length; // a.length: no range open
    let aEnd = 0;
    let bStart = 0;
    let bEnd = 0;
    let i = a.length;
    let j = b.length;
    while (i > 0 && j > 0) {
      let emit = false;
      if (a[i - 1] === b[j - 1]) {
        result[idx - 1] = a[i - 1]!;
        if (aStart === a.length) {
          aStart = aEnd = i - 1;
          bStart = bEnd = j - 1;
        } else if (aStart === i && bStart === j) {
          aStart--;
          bStart--;
        } else emit = true;
        if (aStart === 0 || bStart === 0) emit = true;
        idx--;
        i--;
        j--;
      } else {
        if (dp[(i - 1) * width + j]! > dp[i * width + j - 1]!) i--;
        else j--;
        if (aStart !== a.length) emit = true;
      }
      if (emit) {
        const matchLen = aEnd - aStart + 1;
        if (minMatchLen === 0 || matchLen >= minMatchLen) {
          const ranges = [array([integer(aStart), integer(aEnd)]), array([integer(bStart), integer(bEnd)])];
          matches.push(array(withMatchLen ? [...ranges, integer(matchLen)] : ranges));
        }
        aStart = a.length;
      }
    }
    if (!getIdx) return bulk(result);
    return map(
      [
        [bulk('matches'), array(matches)],
        [bulk('len'), integer(length)],
      ],
      cmd.proto,
    );
  },
);
