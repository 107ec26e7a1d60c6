// Shared bits of the commit-job tests: a flattened copy of the guest view, and -drive launch args.
import path from 'node:path';
import { convertImage } from '../../src/transport/qemu-img.js';
import type { Test } from 'tap';
import { CommitJob } from '../../src/jobs/index.js';
import type { QmpClient } from '../../src/protocol/client.js';
import { buildSeedChain, type Layer } from './chain.js';
import { startQemu, tempDir } from './qemu.js';
import { blockdevRange } from './range.js';

/** A raw copy of what the guest sees through the top of `layers`, made before any job runs. */
export async function flatCopy(dir: string, layers: readonly Layer[], name = 'flat.raw'): Promise<string> {
  const top = layers[layers.length - 1] as Layer;
  const flat = path.join(dir, name);
  await convertImage(top.file, flat, 'raw', { forceShare: true });
  return flat;
}

/** -drive arguments opening the chain from its top as drive0 (a BlockBackend, so a pivot is visible in query-block). */
export function driveArgs(layers: readonly Layer[], id = 'drive0'): string[] {
  const top = layers[layers.length - 1] as Layer;
  return ['-drive', `if=none,id=${id},file=${top.file},format=${top.format}`];
}

/**
 * -blockdev chain args like blockdevChainArgs, but with a blkdebug node between the format node
 * `faultyIndex` and its file that fails the first `event` (read_aio / write_aio) with EIO.
 */
export function blkdebugChainArgs(layers: readonly Layer[], faultyIndex: number, event: 'read_aio' | 'write_aio'): string[] {
  const args: string[] = [];
  layers.forEach((layer, i) => {
    const index = i + 1;
    const file = { driver: 'file', filename: layer.file };
    const image = index === faultyIndex ? { driver: 'blkdebug', 'inject-error': [{ event, errno: 5, once: true }], image: file } : file;
    const format: Record<string, unknown> = { driver: layer.format, 'node-name': `n${index}`, file: image };
    if (layer.format === 'qcow2') format.backing = i === 0 ? null : `n${i}`;
    args.push('-blockdev', JSON.stringify(format));
  });
  return args;
}

/**
 * A job's statuses with its blips collapsed: every paused→running (standby→ready) pair not caused by an
 * I/O error stop is left out (the state machine marks error stops from BLOCK_JOB_ERROR). Drains pause
 * jobs now and then — HMP qemu-io, a running machine, and on QEMU 10 every block-graph change anywhere —
 * so tests compare exact state lists through this. Also `job.blips` counts them.
 */
export { withoutBlips } from '../../src/jobs/state.js';

/**
 * One case of iotests 040's TestErrorHandling: the seed chain as -blockdev nodes with blkdebug failing
 * the first read of the top being committed (read) or the first write into base (write), and a commit
 * with `onError` started on it — active (top = n4) or intermediate (top = n3), base = n1.
 */
export async function startIoErrorCase(
  t: Test,
  options: { active: boolean; operation: 'read' | 'write'; onError: 'report' | 'stop' | 'ignore' },
): Promise<{ client: QmpClient; job: CommitJob; layers: Layer[]; flat: string; errors: () => string[]; quit: () => Promise<void> }> {
  const { active, operation, onError } = options;
  const dir = tempDir(t);
  const layers = await buildSeedChain(dir, ['base.qcow2', 'a.qcow2', 'b.qcow2', 'c.qcow2']);
  const top = active ? 4 : 3;
  const flat = await flatCopy(dir, active ? layers : layers.slice(0, 3));
  const faulty = operation === 'read' ? top : 1;
  const { client, qemu } = await startQemu(t, { dir, args: blkdebugChainArgs(layers, faulty, operation === 'read' ? 'read_aio' : 'write_aio') });
  const job = await CommitJob.start(client, blockdevRange(layers, top, 1), { onError });
  return {
    client,
    job,
    layers,
    flat,
    // Errors may come before start() returns: job.ioErrors has them all.
    errors: () => job.ioErrors.map((e) => `${e.operation}:${e.action}`),
    // qcow2 metadata may still sit in QEMU's cache: compare only after a clean quit.
    quit: async () => {
      await client.execute('quit').catch(() => {});
      await qemu.exited;
    },
  };
}
