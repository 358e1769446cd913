// Command-line options of the benchmarks: `--name N` integers and `--flag`s.

/** The positive integer after `--name` (underscores allowed: 1_000_000), else `fallback`; exits 2 on a bad one. */
export function intOption(args, name, fallback) {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(String(args[i + 1]).replace(/_/g, ''));
  if (!Number.isInteger(v) || v <= 0) {
    console.error(`--${name} needs a positive integer`);
    process.exit(2);
  }
  return v;
}

/** The string after `--name`, else `fallback`. */
export function stringOption(args, name, fallback) {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) {
    console.error(`--${name} needs a value`);
    process.exit(2);
  }
  return v;
}

/** The positive number after `--name` (fractions allowed: 0.5), else `fallback`; exits 2 on a bad one. */
export function numberOption(args, name, fallback) {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(args[i + 1]);
  if (!Number.isFinite(v) || v <= 0) {
    console.error(`--${name} needs a positive number`);
    process.exit(2);
  }
  return v;
}
