// Key encoding: the store's `ordered-binary` key codec (src/store/encoding.ts,
// ordered-binary's writeKey/readKey behind the store's checks) on strings,
// numbers and arrays, both ways; and the `binary` codec (a copy) for scale.
import b from 'benny';
import { dist, expect, handlers, sink } from './common.mjs';

const { keyCodec } = await dist('store/encoding.js');
const { maxKeyLen } = await dist('format/page.js');

export default function keyEncoding(stamp) {
  const ordered = keyCodec('ordered-binary', maxKeyLen(4096));
  const binary = keyCodec('binary', maxKeyLen(4096));
  const keys = {
    string: 'user:00012345',
    integer: 12345678,
    float: -3.25e10,
    array: ['users', 12345678, 'email'],
  };
  const encoded = Object.fromEntries(Object.entries(keys).map(([k, v]) => [k, ordered.encode(v)]));
  const decodedArray = ordered.decode(encoded.array);
  expect(ordered.decode(encoded.string) === keys.string, 'a string key round-trips');
  expect(JSON.stringify(decodedArray) === JSON.stringify(keys.array), 'an array key round-trips');
  const raw = Buffer.alloc(16, 7);

  return b.suite(
    'key encoding (ordered-binary keyCodec, dist/store/encoding.js)',
    b.add(`encode string ('${keys.string}')`, () => sink.add(ordered.encode(keys.string).length)),
    b.add(`encode integer (${keys.integer})`, () => sink.add(ordered.encode(keys.integer).length)),
    b.add(`encode float (${keys.float})`, () => sink.add(ordered.encode(keys.float).length)),
    b.add(`encode array (${JSON.stringify(keys.array)})`, () => sink.add(ordered.encode(keys.array).length)),
    b.add('decode string', () => sink.add(ordered.decode(encoded.string).length)),
    b.add('decode array', () => sink.add(ordered.decode(encoded.array).length)),
    b.add('binary codec: encode a 16-byte Buffer (copy)', () => sink.add(binary.encode(raw).length)),
    ...handlers('key-encoding', stamp),
  );
}
