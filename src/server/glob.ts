// Redis's glob patterns (KEYS, SCAN MATCH, CONFIG GET), over bytes:
//   *       any run of bytes, the empty one too
//   ?       any one byte
//   [abc]   one of the listed bytes; [^abc] none of them; [a-z] a range
//           (either order); \ inside takes the next byte literally
//   \x      the byte x itself
// A `[` left open takes the rest of the pattern as its set, as Redis does.

const STAR = 42;
const QUESTION = 63;
const OPEN = 91;
const CLOSE = 93;
const CARET = 94;
const DASH = 45;
const BACKSLASH = 92;

/** Whether `s` matches `pattern`. */
export function globMatch(pattern: Buffer, s: Buffer): boolean {
  let p = 0;
  let i = 0;
  // The last `*` seen and where in `s` its match ends so far: on a mismatch
  // the star takes one more byte. Every other token matches one byte, so one
  // backtracking point is enough.
  let starP = -1;
  let starI = 0;
  while (i < s.length) {
    if (p < pattern.length) {
      const c = pattern[p];
      if (c === STAR) {
        while (p < pattern.length && pattern[p] === STAR) p++;
        if (p === pattern.length) return true;
        starP = p;
        starI = i;
        continue;
      }
      const next = matchOne(pattern, p, s[i]);
      if (next > 0) {
        p = next;
        i++;
        continue;
      }
    }
    if (starP < 0) return false;
    p = starP;
    i = ++starI;
  }
  while (p < pattern.length && pattern[p] === STAR) p++;
  return p === pattern.length;
}

/** If the token at `p` matches `byte`: the index after the token, else -1. */
function matchOne(pattern: Buffer, p: number, byte: number): number {
  const c = pattern[p];
  if (c === QUESTION) return p + 1;
  if (c === BACKSLASH && p + 1 < pattern.length) return pattern[p + 1] === byte ? p + 2 : -1;
  if (c !== OPEN) return c === byte ? p + 1 : -1;
  let q = p + 1;
  const negate = pattern[q] === CARET;
  if (negate) q++;
  let found = false;
  while (q < pattern.length && pattern[q] !== CLOSE) {
    if (pattern[q] === BACKSLASH && q + 1 < pattern.length) {
      if (pattern[q + 1] === byte) found = true;
      q += 2;
    } else if (q + 2 < pattern.length && pattern[q + 1] === DASH && pattern[q + 2] !== CLOSE) {
      const lo = Math.min(pattern[q], pattern[q + 2]);
      const hi = Math.max(pattern[q], pattern[q + 2]);
      if (byte >= lo && byte <= hi) found = true;
      q += 3;
    } else {
      if (pattern[q] === byte) found = true;
      q++;
    }
  }
  if (found === negate) return -1;
  return q < pattern.length ? q + 1 : q;
}

/**
 * The bytes every match starts with (up to the first special token), and
 * whether that is the whole pattern (only the literal itself matches).
 */
export function literalPrefix(pattern: Buffer): { prefix: Buffer; exact: boolean } {
  const out: number[] = [];
  for (let p = 0; p < pattern.length; p++) {
    const c = pattern[p];
    if (c === STAR || c === QUESTION || c === OPEN) return { prefix: Buffer.from(out), exact: false };
    if (c === BACKSLASH && p + 1 < pattern.length) p++;
    out.push(pattern[p]);
  }
  return { prefix: Buffer.from(out), exact: true };
}
