import path from 'node:path';
import type { Test } from 'tap';
import { createImage, qemuIo } from '../../src/transport/qemu-img.js';
import { startQemu, type StartedQemu } from './qemu.js';

/**
 * A guest (pc, TCG) whose virtio disk `id` runs on a single raw base image on -blockdev (node
 * "base"), holding `pattern` at [offset MiB, length MiB]: the start of every live-snapshot test.
 */
export async function startBaseOnlyGuest(
  t: Test,
  dir: string,
  options: { id?: string; sizeMiB?: number; pattern?: [number, number, number]; extraArgs?: readonly string[] } = {},
): Promise<StartedQemu & { base: string }> {
  const base = path.join(dir, 'base.raw');
  const [offset, length, byte] = options.pattern ?? [0, 4, 0x41];
  await createImage(base, { format: 'raw', size: `${options.sizeMiB ?? 12}M` });
  await qemuIo(base, [`write -P ${byte} ${offset}M ${length}M`], { format: 'raw' });
  const started = await startQemu(t, {
    dir,
    machine: 'pc',
    args: [
      '-accel',
      'tcg',
      '-m',
      '64',
      '-blockdev',
      JSON.stringify({ driver: 'file', filename: base, 'node-name': 'base-file' }),
      '-blockdev',
      JSON.stringify({ driver: 'raw', file: 'base-file', 'node-name': 'base' }),
      '-device',
      `virtio-blk-pci,id=${options.id ?? 'vda'},drive=base`,
      ...(options.extraArgs ?? []),
    ],
  });
  return { ...started, base };
}
