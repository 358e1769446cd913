// A database written by `xrpkv serve` before the data layout (layout.ts)
// holds only raw string records, and among them may be keys that start
// with 0xFF, the byte the layout reserves. Before serving such a database,
// those keys move to their escaped records (0xFF 0xFF ...), all in one
// transaction, which also writes the counters record that marks the layout:
// a crash leaves the database as it was or wholly upgraded. Every other key
// stays where it is, so `xrpkv get --redis` reads it as before.
import { COUNTERS_KEY, RESERVED_START, rawKey } from './layout.js';
import type { Keyspace } from './keyspace.js';

/** Upgrades the keyspace's database if it needs it; resolves with the number of keys moved. */
export async function upgradeLayout(keyspace: Keyspace): Promise<number> {
  const { db } = keyspace;
  if (db.getSync(COUNTERS_KEY) !== undefined) return 0;
  // Without the counters record, nothing under 0xFF is the layout's: every record there is an old raw key.
  const old = [...db.getRange({ start: RESERVED_START })];
  if (old.length === 0) return 0;
  await keyspace.transactData((data) => {
    // Removed first: an escaped record may have the name of another old key (0xFF 0xFF ...).
    for (const { key } of old) data.view.remove(key);
    for (const { key, value } of old) data.view.put(rawKey(key), value);
    data.loadCounters();
  });
  return old.length;
}
