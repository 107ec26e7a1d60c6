import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';
import { blockdevChainArgs, buildSeedChain, type Layer } from './chain.js';
import type { QmpClientOptions } from '../../src/internal.js';
import { startQemu, tempDir, type StartedQemu } from './qemu.js';

/** A guest with two virtio disks: vda on a -drive (drive0), vdb on a -blockdev chain (m1…m4); `extraArgs` for QEMU (a second monitor). */
export async function startTwoDiskGuest(t: Test, client?: QmpClientOptions, extraArgs: string[] = []): Promise<StartedQemu & { vda: Layer[]; vdb: Layer[] }> {
  const dir = tempDir(t);
  mkdirSync(path.join(dir, 'a'));
  mkdirSync(path.join(dir, 'b'));
  const vda = await buildSeedChain(path.join(dir, 'a'));
  const vdb = await buildSeedChain(path.join(dir, 'b'));
  const started = await startQemu(t, {
    dir,
    machine: 'pc',
    ...(client ? { client } : {}),
    args: [
      '-accel',
      'tcg',
      '-drive',
      `if=none,id=drive0,file=${vda[3]!.file},format=qcow2`,
      '-device',
      'virtio-blk-pci,id=vda,drive=drive0',
      ...blockdevChainArgs(vdb, 'm'),
      '-device',
      'virtio-blk-pci,id=vdb,drive=m4',
      ...extraArgs,
    ],
  });
  return { ...started, vda, vdb };
}
