// INCRBYFLOAT's and HINCRBYFLOAT's arithmetic as Redis does it: in C's
// `long double` (x86-64: a 64-bit significand), parsed with strtold and
// printed with "%.17Lf" less its trailing zeros. Doing it in a JS double
// would print 10.5 + 0.1 as 10.59999999999999964 where Redis prints 10.6,
// so the numbers here are exact binary fractions m * 2^e, rounded to 64
// significant bits (to nearest, ties to even) after parsing and after each
// addition, as the hardware rounds, and printed from their exact value.

/** A finite long double: m * 2^e, |m| < 2^64 (0 is m = 0). */
export interface LongDouble {
  m: bigint;
  e: number;
}

const BITS = 64n;
/** The largest binary exponent of a long double (its values are below 2^16384). */
const MAX_EXP = 16384;

/** The smallest binary exponent a long double reaches (its smallest subnormal is 2^-16445): a value below half of it is 0 to strtold, which says ERANGE. */
const MIN_EXP = -16446;

/**
 * The number `text` spells as strtold reads it (a decimal with an optional
 * exponent, or C's hexadecimal form, 0x1.8p3), rounded to a long double;
 * undefined when it is none, or out of range either way (strtold's ERANGE
 * with HUGE_VAL or 0, which Redis refuses). Infinity is not a long double
 * here: `isInfinity` says whether `text` spells it.
 */
export function parseLongDouble(text: string): LongDouble | undefined {
  const hex = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?\d+))?$/.exec(text);
  if (hex) {
    const [, sign, whole, fraction = '', exponent = '0'] = hex;
    if (whole === '' && fraction === '') return undefined;
    if (exponent.length > 7) return undefined;
    const digits = BigInt(`0x${whole}${fraction}`);
    if (digits === 0n) return { m: 0n, e: 0 };
    const value = round(digits, Number(exponent) - 4 * fraction.length, false);
    if (sign === '-') value.m = -value.m;
    return inRange(value) ? value : undefined;
  }
  const match = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!match || (match[2] === '' && (match[3] ?? '') === '')) return undefined;
  const [, sign, whole, fraction = '', exponent = '0'] = match;
  if (exponent.length > 7) return undefined;
  const digits = BigInt(`${whole}${fraction}` || '0');
  const power = Number(exponent) - fraction.length;
  if (digits === 0n) return { m: 0n, e: 0 };
  let value: LongDouble;
  if (power >= 0) {
    if (power > 5000) return undefined;
    value = round(digits * 10n ** BigInt(power), 0, false);
  } else {
    if (-power > 5000) return undefined; // far below the smallest long double: 0 and ERANGE to strtold
    // digits / 10^k: enough quotient bits to round, the remainder as the sticky bit.
    const den = 10n ** BigInt(-power);
    const shift = Math.max(0, Number(BITS) + 2 + bitLength(den) - bitLength(digits));
    const scaled = digits << BigInt(shift);
    value = round(scaled / den, -shift, scaled % den !== 0n);
  }
  if (sign === '-') value.m = -value.m;
  return inRange(value) ? value : undefined;
}

export function addLongDouble(a: LongDouble, b: LongDouble): LongDouble | undefined {
  if (a.m === 0n) return b;
  if (b.m === 0n) return a;
  const e = Math.min(a.e, b.e);
  const sum = (a.m << BigInt(a.e - e)) + (b.m << BigInt(b.e - e));
  if (sum === 0n) return { m: 0n, e: 0 };
  const r = round(sum < 0n ? -sum : sum, e, false);
  if (sum < 0n) r.m = -r.m;
  return inRange(r) ? r : undefined;
}

/** "%.17Lf" without trailing zeros (and without a trailing point); "-0" is "0". */
export function formatLongDouble(x: LongDouble): string {
  const negative = x.m < 0n;
  const m = negative ? -x.m : x.m;
  // The value times 10^17, rounded to an integer, ties to even.
  let scaled: bigint;
  if (x.e >= 0) scaled = (m << BigInt(x.e)) * 10n ** 17n;
  else {
    const num = m * 10n ** 17n;
    const den = 1n << BigInt(-x.e);
    const q = num / den;
    const twice = 2n * (num % den);
    scaled = twice > den || (twice === den && (q & 1n) === 1n) ? q + 1n : q;
  }
  const digits = scaled.toString().padStart(18, '0');
  let text = `${digits.slice(0, -17)}.${digits.slice(-17)}`.replace(/0+$/, '').replace(/\.$/, '');
  if (negative && text !== '0') text = `-${text}`;
  return text;
}

/** `n` * 2^e (n > 0, plus a sticky bit for what was cut below it) rounded to 64 significant bits. */
function round(n: bigint, e: number, sticky: boolean): LongDouble {
  const excess = bitLength(n) - Number(BITS);
  if (excess <= 0) return { m: n, e };
  const cut = BigInt(excess);
  let m = n >> cut;
  const rest = n & ((1n << cut) - 1n);
  const half = 1n << (cut - 1n);
  if (rest > half || (rest === half && (sticky || (m & 1n) === 1n))) m += 1n;
  if (bitLength(m) > Number(BITS)) return { m: m >> 1n, e: e + excess + 1 };
  return { m, e: e + excess };
}

function inRange(x: LongDouble): boolean {
  const m = x.m < 0n ? -x.m : x.m;
  return m === 0n || (bitLength(m) + x.e <= MAX_EXP && bitLength(m) + x.e > MIN_EXP);
}

/** Whether `text` spells an infinity as strtold reads it (inf, infinity, any case, signed). */
export const isInfinity = (text: string): boolean => /^[+-]?inf(inity)?$/i.test(text);

function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}
