// The real-guest job tests' start: a guest booted on an ext4 base.raw (vda, -blockdev), a second
// monitor for the CLI, and the seed's live snapshots with a file added in the guest after each.
import path from 'node:path';
import type { Test } from 'tap';
import { resolveDisk } from '../../src/internal.js';
import { extraMonitorArgs, runCli, type CliResult } from './cli.js';
import { makeExt4Disk, startGuest, type Guest, type GuestKernel } from './guest.js';
import { tempDir } from './qemu.js';

export interface GuestOnBase {
  guest: Guest;
  dir: string;
  base: string;
  cli: string;
  run(...args: string[]): Promise<CliResult>;
  chain(): Promise<string[]>;
}

export async function bootGuestOnBase(t: Test, kernel: GuestKernel, options: { agent?: boolean; vdb?: boolean } = {}): Promise<GuestOnBase> {
  const dir = tempDir(t);
  const base = path.join(dir, 'base.raw');
  const baseB = path.join(dir, 'base-b.raw');
  const cli = path.join(dir, 'cli.sock');
  await makeExt4Disk(base);
  if (options.vdb) await makeExt4Disk(baseB);
  const vdbArgs = options.vdb ? [
    '-blockdev', JSON.stringify({ driver: 'file', filename: baseB, 'node-name': 'baseb-file', discard: 'unmap' }),
    '-blockdev', JSON.stringify({ driver: 'raw', file: 'baseb-file', 'node-name': 'baseb', discard: 'unmap' }),
  ] : [];
  const guest = await startGuest(t, kernel, dir, {
    node: 'base',
    ...(options.agent === false ? { agent: false } : {}),
    ...(options.vdb ? { vdbNode: 'baseb' } : {}),
    blockArgs: [
      '-blockdev', JSON.stringify({ driver: 'file', filename: base, 'node-name': 'base-file', discard: 'unmap' }),
      '-blockdev', JSON.stringify({ driver: 'raw', file: 'base-file', 'node-name': 'base', discard: 'unmap' }),
      ...vdbArgs,
      ...extraMonitorArgs(cli),
    ],
  });
  await guest.writeFile('f/base', 256);
  return {
    guest,
    dir,
    base,
    cli,
    run: (...args) => runCli([...args, '--socket', cli], 120_000),
    chain: async () => (await resolveDisk(guest.client, 'vda')).layers.map((l) => l.file),
  };
}

/** The seed: for each name a live snapshot (the CLI's `snapshot`), then a file added in the guest on it. */
export async function snapshotsWithFiles(t: Test, g: GuestOnBase, names: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const name of names) {
    const file = path.join(g.dir, `${name}.qcow2`);
    const made = await g.run('snapshot', 'vda', '--file', file);
    t.equal(made.code, 0, `snapshot ${name}; stderr: ${made.stderr}`);
    await g.guest.writeFile(`f/${name}`, 256);
    files.push(file);
  }
  t.same(await g.chain(), [g.base, ...files], 'the chain is base and the snapshots, in order');
  return files;
}
