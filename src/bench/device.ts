// `--device zram`: a zram block device of our own with ext4 mounted on a temp
// directory, for the low-latency regime XRP was built for, and its removal.
// Root only. An existing zram device (e.g. /dev/zram0, often swap) is never
// touched: a new one comes from /sys/class/zram-control/hot_add.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchSetupError } from './target.js';

const CONTROL = '/sys/class/zram-control';

export interface Zram {
  id: number;
  device: string;
  mount: string;
  /** e.g. `zram (/dev/zram1, ext4, lzo-rle compression, 4096-byte logical blocks)`. */
  description: string;
  /** Unmounts and removes the device; safe to call twice. */
  teardown(): void;
}

/** Runs a system tool, with sbin on the path (a non-login root shell may lack it). */
function tool(name: string, args: string[]): string {
  try {
    return execFileSync(name, args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin:/usr/bin:/bin` },
    });
  } catch (e) {
    const err = e as { stderr?: string; code?: string; message: string };
    if (err.code === 'ENOENT') throw new BenchSetupError(`${name} not found (install e2fsprogs / util-linux)`);
    throw new BenchSetupError(`${name} ${args.join(' ')} failed: ${(err.stderr ?? err.message).trim()}`);
  }
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Creates, formats and mounts a zram device with room for `bytes` of files. */
export function setupZram(bytes: number): Zram {
  if (process.getuid?.() !== 0) throw new BenchSetupError('--device zram needs root (it creates, formats and mounts a zram device)');
  if (!existsSync(CONTROL)) {
    try {
      tool('modprobe', ['zram']);
    } catch {
      // modprobe may be missing or refused; the check below says what matters.
    }
    if (!existsSync(CONTROL)) throw new BenchSetupError(`no ${CONTROL}: the zram module is absent and could not be loaded`);
  }
  const added = readFileSync(join(CONTROL, 'hot_add'), 'utf8').trim();
  const id = Number(added);
  if (!Number.isInteger(id)) throw new BenchSetupError(`zram hot_add returned '${added}'`);
  const device = `/dev/zram${id}`;
  let mount: string | undefined;
  let mounted = false;
  let removed = false;
  const teardown = () => {
    if (removed) return;
    removed = true;
    if (mounted) {
      try {
        tool('umount', [mount!]);
      } catch (e) {
        process.stderr.write(`xrpkv: ${(e as Error).message}; not removing ${device}\n`);
        return;
      }
    }
    if (mount) rmdirSync(mount);
    try {
      writeFileSync(join(CONTROL, 'hot_remove'), String(id));
    } catch (e) {
      process.stderr.write(`xrpkv: cannot remove ${device}: ${(e as Error).message}\n`);
    }
  };
  try {
    // Room for the file plus ext4's journal and metadata.
    const mib = Math.ceil(bytes / 2 ** 20);
    writeFileSync(`/sys/block/zram${id}/disksize`, `${mib + Math.ceil(mib / 4) + 64}M`);
    for (let i = 0; i < 100 && !existsSync(device); i++) sleepMs(20); // udev or devtmpfs makes the node
    if (!existsSync(device)) throw new BenchSetupError(`${device} did not appear`);
    tool('mkfs.ext4', ['-q', device]);
    mount = mkdtempSync(join(tmpdir(), 'xrpkv-zram-'));
    tool('mount', ['-t', 'ext4', device, mount]);
    mounted = true;
    const algorithms = readFileSync(`/sys/block/zram${id}/comp_algorithm`, 'utf8');
    const algorithm = /\[([^\]]+)\]/.exec(algorithms)?.[1] ?? '?';
    const block = readFileSync(`/sys/block/zram${id}/queue/logical_block_size`, 'utf8').trim();
    const description = `zram (${device}, ext4, ${algorithm} compression, ${block}-byte logical blocks)`;
    return { id, device, mount, description, teardown };
  } catch (e) {
    teardown();
    throw e;
  }
}
