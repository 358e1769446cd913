// The file a depth benchmark reads, opened twice: a descriptor for the
// TypeScript walks (O_DIRECT when the file system allows it) and an XrpFile
// for the chains (the same choice). Both read every level from the device:
// nothing here caches a page.
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { alignedBuffer } from '../aligned.js';
import { XrpFile } from '../xrp.js';
import type { BuiltTree } from './build-tree.js';

export class BenchSetupError extends Error {
  override name = 'BenchSetupError';
}

export interface Target {
  tree: BuiltTree;
  /** For the walks (fs.readSync / fs.read). */
  fd: number;
  /** For the chains. */
  xrp: XrpFile;
  /** Whether both read with O_DIRECT. */
  direct: boolean;
  /** How reads are done, in words. */
  access: string;
  /** Set when O_DIRECT could not be used, saying why. */
  warning?: string;
}

/** Reads page `pageNo` into `buf` (P bytes) synchronously; throws if the read is short. */
export function readPageSync(fd: number, buf: Buffer, pageNo: number): void {
  const n = readSync(fd, buf, 0, buf.length, pageNo * buf.length);
  if (n !== buf.length) throw new BenchSetupError(`short read of page ${pageNo}: ${n} of ${buf.length} bytes`);
}

function openDirect(path: string, pageSize: number): { fd: number; why?: string } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_DIRECT);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EOPNOTSUPP') throw e;
    return { fd: openSync(path, 'r'), why: `the file system refuses O_DIRECT (${code})` };
  }
  // A device whose logical block is larger than a page refuses direct reads of one page.
  try {
    readPageSync(fd, alignedBuffer(pageSize), 1);
    return { fd };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
    closeSync(fd);
    throw new BenchSetupError(
      `${path}: direct reads of one ${pageSize}-byte page are refused (EINVAL): the device's logical block is larger; use --page-size 4096`,
    );
  }
}

export function openTarget(tree: BuiltTree): Target {
  const { fd, why } = openDirect(tree.path, tree.pageSize);
  try {
    const xrp = XrpFile.open(tree.path, { direct: why ? 'off' : 'require' });
    if (xrp.direct && xrp.blockSize > tree.pageSize) {
      xrp.close();
      throw new BenchSetupError(`${tree.path}: the device's ${xrp.blockSize}-byte blocks are larger than the ${tree.pageSize}-byte pages; use --page-size ${xrp.blockSize}`);
    }
    const access = why ? `buffered (page cache): ${why}` : `O_DIRECT (${xrp.blockSize}-byte logical blocks)`;
    const warning = why ? `${tree.path}: ${why}; reading through the page cache, so no read reaches the device` : undefined;
    return { tree, fd, xrp, direct: !why, access, warning };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

export function closeTarget(t: Target): void {
  t.xrp.close();
  closeSync(t.fd);
}
