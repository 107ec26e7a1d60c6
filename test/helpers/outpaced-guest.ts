import path from 'node:path';
import type { Test } from 'tap';
import type { QmpClient } from '../../src/internal.js';
import { startBaseOnlyGuest } from './base-guest.js';
import { extraMonitorArgs, runCli } from './cli.js';
import { tempDir } from './qemu.js';

export const CHUNK_KIB = 256;
export const CHUNKS = 48; // 12 MiB
export const ORIGINAL = { bps: 0, bps_rd: 50 << 20, bps_wr: 0, iops: 5000, iops_rd: 0, iops_wr: 0 };

/** Writes 256 KiB chunks round the disk through the guest device until `stop` fires; keeps what each chunk holds last. */
export function guestWriter(client: QmpClient, stop: AbortSignal): { done: Promise<void>; last: Map<number, number> } {
  const last = new Map<number, number>();
  const deadline = Date.now() + 60_000;
  const done = (async () => {
    for (let i = 0; !stop.aborted && Date.now() < deadline; i++) {
      const chunk = (i * 7) % CHUNKS;
      const pattern = (i % 200) + 1;
      const reply = await client.execute('human-monitor-command', {
        'command-line': `qemu-io -d /machine/peripheral/vda/virtio-backend "write -P ${pattern} ${chunk * CHUNK_KIB}k ${CHUNK_KIB}k"`,
      });
      if (/error/i.test(reply)) throw new Error(`guest write failed: ${reply}`);
      last.set(chunk, pattern);
    }
  })();
  return { done, last };
}

export async function guestWithOverlay(t: Test): Promise<{ client: QmpClient; cli: string; base: string; exited: Promise<unknown> }> {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const { client, qemu, base } = await startBaseOnlyGuest(t, dir, { extraArgs: extraMonitorArgs(cli) });
  const made = await runCli(['snapshot', 'vda', '--file', path.join(dir, 'top.qcow2'), '--socket', cli]);
  t.equal(made.code, 0, `snapshot; stderr: ${made.stderr}`);
  await client.execute('block_set_io_throttle', { id: '/machine/peripheral/vda/virtio-backend', ...ORIGINAL });
  return { client, cli, base, exited: qemu.exited };
}
