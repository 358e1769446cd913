// A RESP2 reply, as a command inside a script answers (resp-writer.ts
// encodes it), read back into the value Lua receives (lua-vm.ts pushes it):
// status -> { ok }, error -> { err }, integer -> bigint, bulk string ->
// bytes, null bulk or null array -> null (Lua false), array -> array.
import type { HostValue } from './lua-vm.js';
import type { Reply } from './resp-writer.js';

export function parseReply(reply: Reply): HostValue {
  const b = typeof reply === 'string' ? Buffer.from(reply, 'latin1') : reply;
  let at = 0;
  const line = (): Buffer => {
    const end = b.indexOf('\r\n', at, 'latin1');
    if (end < 0) throw new Error('a reply line without its CRLF');
    const text = b.subarray(at, end);
    at = end + 2;
    return text;
  };
  const value = (): HostValue => {
    const type = b[at++];
    switch (type) {
      case 0x2b: // '+'
        return { ok: Buffer.from(line()) };
      case 0x2d: // '-'
        return { err: Buffer.from(line()) };
      case 0x3a: // ':'
        return BigInt(line().toString('latin1'));
      case 0x24: {
        // '$'
        const n = Number(line().toString('latin1'));
        if (n < 0) return null;
        const v = Buffer.from(b.subarray(at, at + n));
        at += n + 2;
        return v;
      }
      case 0x2a: {
        // '*'
        const n = Number(line().toString('latin1'));
        if (n < 0) return null;
        const items: HostValue[] = [];
        for (let i = 0; i < n; i++) items.push(value());
        return items;
      }
      default:
        throw new Error(`a RESP2 reply cannot start with byte ${type}`);
    }
  };
  return value();
}
