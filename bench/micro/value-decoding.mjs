// Value decoding: the store's value codecs (src/store/encoding.ts valueCodec,
// from dist/store/encoding.js) on typical values. `msgpack` is msgpackr's
// unpack (a Packr with useRecords: false, as the store uses it).
import b from 'benny';
import { dist, expect, handlers, sink } from './common.mjs';

const { valueCodec } = await dist('store/encoding.js');

/** A small record, about 100 bytes as msgpack. */
const user = (i) => ({
  id: i,
  name: `user ${i}`,
  email: `user${i}@example.com`,
  active: i % 2 === 0,
  score: i * 1.5,
  tags: ['a', 'b'],
});

export default function valueDecoding(stamp) {
  const msgpack = valueCodec('msgpack');
  const json = valueCodec('json');
  const string = valueCodec('string');
  const binary = valueCodec('binary');
  const small = msgpack.encode(user(12345));
  const list = msgpack.encode({ page: 3, items: Array.from({ length: 10 }, (_, i) => user(i)) });
  const text = 'x'.repeat(100);
  const packedText = msgpack.encode(text);
  const smallJson = json.encode(user(12345));
  const bytes = Buffer.alloc(100, 7);
  const encodedText = string.encode(text);
  expect(msgpack.decode(small).email === 'user12345@example.com', 'a msgpack record round-trips');
  expect(msgpack.decode(list).items.length === 10, 'a msgpack list round-trips');
  expect(json.decode(smallJson).id === 12345, 'a JSON record round-trips');

  return b.suite(
    'value decoding (valueCodec, dist/store/encoding.js)',
    b.add(`msgpack: record (${small.length} B)`, () => sink.add(msgpack.decode(small).id)),
    b.add(`msgpack: 10 records (${list.length} B)`, () => sink.add(msgpack.decode(list).items.length)),
    b.add(`msgpack: string (${packedText.length} B)`, () => sink.add(msgpack.decode(packedText).length)),
    b.add(`json: record (${smallJson.length} B)`, () => sink.add(json.decode(smallJson).id)),
    b.add(`string: ${encodedText.length} B UTF-8`, () => sink.add(string.decode(encodedText).length)),
    b.add(`binary: ${bytes.length} B (a copy)`, () => sink.add(binary.decode(bytes).length)),
    ...handlers('value-decoding', stamp),
  );
}
