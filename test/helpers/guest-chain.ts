// The real-guest job tests' start: a guest booted on an ext4 base.raw (vda, -blockdev), a second
// monitor for the CLI, and the seed's live snapshots with a file added in the guest after each.
import path from 'node:path';
import type { Test } from 'tap';
import { resolveDisk } from '../../src/internal.js';
import { extraMonitorArgs, finished, runCli, startCli, type CliResult } from './cli.js';
import { makeExt4Disk, startGuest, type Guest, type GuestKernel } from './guest.js';
import { tempDir } from './qemu.js';

export interface GuestOnBase {
  guest: Guest;
  dir: string;
  base: string;
  cli: string;
  run(...args: string[]): Promise<CliResult>;
  /**
   * Runs a job command (commit, pull, copy) held at 1 byte/s until the guest's writer has synced one
   * more generation, then at full speed (`job vda --bandwidth 0`): proof that the guest wrote while
   * the job ran, whatever the speeds of QEMU and the guest. `whileRunning` is false when the job had
   * already ended when the writer got there (then nothing was proven).
   */
  runWhileGuestWrites(...args: string[]): Promise<CliResult & { whileRunning: boolean; generations: [number, number] }>;
  chain(): Promise<string[]>;
}

export async function bootGuestOnBase(t: Test, kernel: GuestKernel, options: { agent?: boolean; vdb?: boolean } = {}): Promise<GuestOnBase> {
  const dir = tempDir(t);
  const base = path.join(dir, 'base.raw');
  const baseB = path.join(dir, 'base-b.raw');
  const cli = path.join(dir, 'cli.sock');
  await makeExt4Disk(base);
  if (options.vdb) await makeExt4Disk(baseB);
  const vdbArgs = options.vdb
    ? [
        '-blockdev',
        JSON.stringify({ driver: 'file', filename: baseB, 'node-name': 'baseb-file', discard: 'unmap' }),
        '-blockdev',
        JSON.stringify({ driver: 'raw', file: 'baseb-file', 'node-name': 'baseb', discard: 'unmap' }),
      ]
    : [];
  const guest = await startGuest(t, kernel, dir, {
    node: 'base',
    ...(options.agent === false ? { agent: false } : {}),
    ...(options.vdb ? { vdbNode: 'baseb' } : {}),
    blockArgs: [
      '-blockdev',
      JSON.stringify({ driver: 'file', filename: base, 'node-name': 'base-file', discard: 'unmap' }),
      '-blockdev',
      JSON.stringify({ driver: 'raw', file: 'base-file', 'node-name': 'base', discard: 'unmap' }),
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
    runWhileGuestWrites: async (...args) => {
      const job = startCli([...args, '--bandwidth', '1', '--bytes', '--socket', cli]);
      const ended = finished(job, 120_000);
      const from = await guest.writerGeneration();
      const to = await guest.writerReaches(from + 1);
      const released = await runCli(['job', 'vda', '--bandwidth', '0', '--socket', cli], 60_000);
      return { ...(await ended), whileRunning: released.code === 0, generations: [from, to] };
    },
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
