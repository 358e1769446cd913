// Memory for O_DIRECT reads. The kernel refuses a direct read into memory not
// aligned to the device's logical block size; Node's Buffers promise no such
// alignment, but their backing store never moves, so an over-allocated
// Buffer's aligned sub-array stays aligned for its whole life.
import { native } from './native.js';

/** The alignment that suits every device xrpkv reads directly (512 to 4096-byte blocks). */
export const DIRECT_ALIGN = 4096;

/** A zeroed Buffer of `size` bytes whose first byte sits at a multiple of `align`. */
export function alignedBuffer(size: number, align = DIRECT_ALIGN): Buffer {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`size must be an integer >= 0, got ${size}`);
  const raw = Buffer.alloc(size + align); // not allocUnsafe: pooled slices share one backing store
  const offset = native.alignmentOffset(raw, align);
  return raw.subarray(offset, offset + size);
}
