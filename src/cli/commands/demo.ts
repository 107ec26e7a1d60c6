import { mkdtempSync, rmSync } from 'node:fs';
import { demoDiskArgs } from '../demo-disk.js';
import { JOB_KINDS } from '../../jobs/kinds.js';
import os from 'node:os';
import path from 'node:path';
import { resolveCommitRange } from '../../block/address.js';
import { diskLabel, listDisks, resolveDisk } from '../../block/chain.js';
import type { DiskChain } from '../../block/types.js';
import { CommitJob } from '../../jobs/commit.js';
import { QmpError } from '../../errors.js';
import type { CliContext, CommandSpec } from '../context.js';
import { showProgress } from '../job-progress.js';
import { connect } from '../../connect.js';

const MIB = 1024 * 1024;
const DISK_MIB = 64;
/** What each step writes, as in Eric Blake's diagram: [first MiB, MiB count, byte]. */
const PLAN: ReadonlyArray<{ file: string; writes: ReadonlyArray<readonly [number, number, number]> }> = [
  { file: 'base.raw', writes: [[0, 16, 0x41]] }, //            AAAA--------
  { file: 'sn1.qcow2', writes: [[8, 16, 0x42]] }, //           --BBBB------
  { file: 'sn2.qcow2', writes: [[20, 16, 0x43]] }, //          -----CCCC---
  {
    file: 'cur.qcow2',
    writes: [
      [0, 4, 0x44],
      [32, 8, 0x44],
    ],
  }, // D-------DD--
];

class DemoFailure extends QmpError {}

function chainText(disk: DiskChain, name: string): string {
  return [...disk.layers]
    .reverse()
    .map((l, i) => `  ${name}[${l.index}]  ${l.format.padEnd(5)}  ${l.file}${i === 0 ? '  (active)' : ''}`)
    .join('\n');
}

/** The seed procedure, live: snapshots with data in between, active commit, pivot, verify, clean up. */
async function runDemo(context: CliContext, dir: string): Promise<number> {
  // Loaded here, not at start-up: only demo needs processes and image tools.
  const [{ createSnapshots }, { createImage, qemuIo }, { QemuProcess }] = await Promise.all([
    import('../../block/snapshot.js'),
    import('../../transport/qemu-img.js'),
    import('../../transport/qemu-process.js'),
  ]);
  const { out, signal } = context;
  const say = (text: string, object: Record<string, unknown> = {}): void => out.result(text, { type: 'demo', step: text, ...object });
  const file = (name: string): string => path.join(dir, name);

  say(`Working in ${dir}`);
  await createImage(file('base.raw'), { format: 'raw', size: `${DISK_MIB}M` });
  await qemuIo(
    file('base.raw'),
    PLAN[0]!.writes.map(([o, n, b]) => `write -P ${b} ${o}M ${n}M`),
    { format: 'raw' },
  );

  const qemu = await QemuProcess.start({
    dir,
    machine: 'pc',
    args: ['-accel', 'tcg', '-m', '64', ...demoDiskArgs(file('base.raw'))],
  });
  try {
    const client = await qemu.failIfExits(connect({ path: qemu.socketPath }, { signal, connectTimeoutMs: 30_000 }));
    try {
      const version = await client.execute('query-version');
      say(`Started QEMU ${version.qemu.major}.${version.qemu.minor}.${version.qemu.micro} (pid ${qemu.pid}), guest disk vda on base.raw`);
      for (const disk of await listDisks(client, { signal })) say(`  ${diskLabel(disk)}  ${disk.layers.at(-1)?.file}`);

      // Three live external snapshots, the guest writing different data into each new overlay.
      for (const step of PLAN.slice(1)) {
        await createSnapshots(client, [{ disk: 'vda', file: file(step.file) }], { signal });
        for (const [offset, count, byte] of step.writes) {
          const line = `qemu-io -d /machine/peripheral/vda/virtio-backend "write -P ${byte} ${offset}M ${count}M"`;
          const reply = await client.execute('human-monitor-command', { 'command-line': line }, { signal });
          if (/^Error:/m.test(reply)) throw new DemoFailure(`guest write failed: ${reply.trim()}`);
        }
        await client.execute('human-monitor-command', { 'command-line': 'qemu-io -d /machine/peripheral/vda/virtio-backend "flush"' }, { signal });
        say(`Snapshot: vda now writes into ${step.file} (guest wrote ${step.writes.map(([o, n]) => `${n} MiB at ${o} MiB`).join(' and ')})`);
      }
      const before = await resolveDisk(client, 'vda', { signal });
      say(`Live chain:\n${chainText(before, 'vda')}`, { chain: before });

      // virsh blockcommit vm1 vda --active --pivot --verbose
      const range = resolveCommitRange(before, {});
      const job = await CommitJob.start(client, range, { speed: 48 * MIB, signal });
      say(`Active commit of ${range.top.file} down to ${range.base.file} started (job ${job.id}, limited to 48 MiB/s so the progress is visible)`);
      const stop = showProgress(job, out, JOB_KINDS['active-commit'].progressLabel, signal);
      try {
        await job.waitUntilReady({ signal, timeoutMs: 5 * 60_000 });
      } finally {
        stop();
      }
      out.progress(JOB_KINDS['active-commit'].progressLabel, 100);
      const result = await job.pivot({ signal, timeoutMs: 60_000 });
      out.message('Successfully pivoted');
      const after = await resolveDisk(client, 'vda', { signal });
      say(`Live chain now:\n${chainText(after, 'vda')}`, { chain: after, states: result.states });
      say(
        `Job states: ${result.states.join(' → ')}; QEMU's own job time ${result.timings.totalMs !== undefined ? (result.timings.totalMs / 1000).toFixed(3) : '?'} s`,
      );
      say(`No longer valid on their own (Eric Blake's note): ${result.invalidated?.files.map((f) => path.basename(f)).join(', ') ?? 'unknown'}`);
      await client.execute('quit').catch(() => undefined);
    } finally {
      await client.close();
    }
    await qemu.exited;

    // Every MiB of base.raw must now read what the guest saw: the top-most layer's byte, or zero.
    const expected = new Array<number>(DISK_MIB).fill(0);
    for (const step of PLAN) for (const [o, n, b] of step.writes) for (let m = o; m < o + n; m++) expected[m] = b;
    await qemuIo(
      file('base.raw'),
      expected.map((b, m) => `read -P ${b} ${m}M 1M`),
      { format: 'raw' },
    );
    say(`Verified: all ${DISK_MIB} MiB of base.raw read exactly what the guest saw before the commit`);
    return 0;
  } finally {
    await qemu.stop();
  }
}

export const demoCommand: CommandSpec = {
  name: 'demo',
  summary: 'run the seed procedure live on a throwaway QEMU it starts itself, verify, clean up',
  usage: 'demo [--keep] [--without-guest]',
  details:
    "Boots a Linux guest (Debian's cloud kernel, a busybox initramfs with qemu-guest-agent, built once by ci/guest.sh)\non an ext4 base.raw, takes three live snapshots with a file added in the guest through its agent after each, pivots an\nactive commit while the guest writes, reads the files back through the agent, and after power-off runs fsck.ext4 -fn and\ncompares every file offline. Without the kernel package (or with --without-guest), the guest-less demo (fallback): creates base.raw, starts qemu-system-x86_64 (TCG, no KVM needed) with it as virtio disk vda, takes three live\nsnapshots with the guest writing distinct data between them, runs an active commit with progress, pivots,\nchecks every byte of base.raw, and removes everything (--keep leaves the folder).",
  examples: ['qmp-blockjob demo', 'qmp-blockjob demo --json'],
  options: { keep: { type: 'boolean' }, 'without-guest': { type: 'boolean' } },
  async run(context) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'qbj-demo-'));
    const keep = context.values.keep === true;
    // Also when the process dies before `finally` runs (e.g. EPIPE when stdout is closed early).
    const cleanUp = (): void => {
      if (!keep) rmSync(dir, { recursive: true, force: true });
    };
    process.once('exit', cleanUp);
    try {
      if (context.values['without-guest'] !== true) {
        const { findGuestKernel, runGuestDemo } = await import('../demo-guest.js');
        const kernel = findGuestKernel();
        if ('dir' in kernel) return await runGuestDemo(context, dir, kernel.dir);
        context.out.result(`Guest-less demo (fallback): no Linux guest here (${kernel.missing}); the guest's writes are qemu-io's`, {
          type: 'demo',
          fallback: kernel.missing,
        });
      }
      return await runDemo(context, dir);
    } finally {
      process.off('exit', cleanUp);
      if (keep) context.out.result(`Kept ${dir}`, { type: 'demo', kept: dir });
      cleanUp();
    }
  },
};
