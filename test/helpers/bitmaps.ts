/*
 * Reading persistent dirty bitmaps three ways, for tests that check their contents: QEMU's live
 * counts (query-named-block-nodes), the image's bitmap directory (qemu-img info), and the dirty
 * regions themselves, exported over NBD with qemu-storage-daemon and read by `qemu-img map` through
 * x-dirty-bitmap (a dirty region shows as "data": false there).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Test } from 'tap';
import type { QmpClient } from '../../src/internal.js';
import { startQemu, tempDir } from './qemu.js';

const run = promisify(execFile);

/** File → bitmap name → dirty bytes, for every named bitmap QEMU holds now. */
export async function liveBitmapCounts(client: QmpClient): Promise<Record<string, Record<string, number>>> {
  const nodes = await client.execute('query-named-block-nodes', { flat: true }, { timeoutMs: 10_000 });
  const out: Record<string, Record<string, number>> = {};
  for (const node of nodes) {
    const bitmaps = (node['dirty-bitmaps'] as Array<{ name?: string; count: number }> | undefined) ?? [];
    for (const b of bitmaps) if (b.name !== undefined) (out[path.basename(node.file)] ??= {})[b.name] = b.count;
  }
  return out;
}

/** The bitmaps an image file records: name → flags (qemu-img info). */
export async function imageBitmaps(file: string): Promise<Record<string, string[]>> {
  const { stdout } = await run('qemu-img', ['info', '-U', '--output=json', file], { timeout: 30_000 });
  const info = JSON.parse(stdout) as { 'format-specific'?: { data?: { bitmaps?: Array<{ name: string; flags: string[] }> } } };
  return Object.fromEntries((info['format-specific']?.data?.bitmaps ?? []).map((b) => [b.name, b.flags]));
}

/** The dirty regions [offset, length] of bitmap `name` in qcow2 `file` (QEMU not running on it). */
export async function dirtyExtents(file: string, name: string): Promise<Array<[number, number]>> {
  const dir = path.dirname(file);
  const socket = path.join(dir, `nbd-${process.pid}-${name}.sock`);
  const pidfile = path.join(dir, `nbd-${process.pid}-${name}.pid`);
  // --daemonize: the parent exits once the export listens, so no polling for the socket.
  await run(
    'qemu-storage-daemon',
    [
      '--blockdev',
      JSON.stringify({ driver: 'file', filename: file, 'node-name': 'f', 'read-only': true }),
      '--blockdev',
      JSON.stringify({ driver: 'qcow2', file: 'f', 'node-name': 'q', 'read-only': true }),
      '--nbd-server',
      `addr.type=unix,addr.path=${socket}`,
      '--export',
      JSON.stringify({ type: 'nbd', id: 'e', 'node-name': 'q', name: 'x', bitmaps: [name] }),
      '--daemonize',
      '--pidfile',
      pidfile,
    ],
    { timeout: 30_000 },
  );
  const pid = Number(readFileSync(pidfile, 'utf8').trim());
  try {
    const { stdout } = await run(
      'qemu-img',
      ['map', '--output=json', '--image-opts', `driver=nbd,server.type=unix,server.path=${socket},export=x,x-dirty-bitmap=qemu:dirty-bitmap:${name}`],
      { timeout: 30_000 },
    );
    const map = JSON.parse(stdout) as Array<{ start: number; length: number; data: boolean }>;
    const dirty: Array<[number, number]> = [];
    for (const e of map.filter((m) => !m.data)) {
      const last = dirty.at(-1);
      if (last && last[0] + last[1] === e.start) last[1] += e.length;
      else dirty.push([e.start, e.length]);
    }
    return dirty;
  } finally {
    process.kill(pid, 'SIGTERM');
  }
}

export const MiB = 1024 * 1024;
/** [offset MiB, length MiB] → bytes. */
export const mib = (ranges: Array<[number, number]>): Array<[number, number]> => ranges.map(([o, l]) => [o * MiB, l * MiB]);

const io = (file: string, cmd: string) => run('qemu-io', ['-c', cmd, file]);
const bitmap = (file: string, op: string, name: string) => run('qemu-img', ['bitmap', op, file, name]);

/**
 * base.qcow2 ← a.qcow2 ← top.qcow2, bitmaps (dirty MiB): base chk0 [2]; a chk0 [4,5], old [5]
 * (disabled); top chk0 [7, 9], chk1 [9]. Started on drive0.
 */
export async function chainWithBitmaps(t: Test, extraArgs: readonly string[] = []) {
  const dir = tempDir(t);
  const [base, a, top] = ['base.qcow2', 'a.qcow2', 'top.qcow2'].map((f) => path.join(dir, f)) as [string, string, string];
  await run('qemu-img', ['create', '-f', 'qcow2', base, '12M']);
  await io(base, 'write -P 0x41 0 2M');
  await bitmap(base, '--add', 'chk0');
  await io(base, 'write -P 0x42 2M 1M');
  await run('qemu-img', ['create', '-f', 'qcow2', '-b', base, '-F', 'qcow2', a]);
  await bitmap(a, '--add', 'chk0');
  await io(a, 'write -P 0x43 4M 1M');
  await bitmap(a, '--add', 'old');
  await io(a, 'write -P 0x44 5M 1M');
  await bitmap(a, '--disable', 'old');
  await run('qemu-img', ['create', '-f', 'qcow2', '-b', a, '-F', 'qcow2', top]);
  await bitmap(top, '--add', 'chk0');
  await io(top, 'write -P 0x45 7M 1M');
  await bitmap(top, '--add', 'chk1');
  await io(top, 'write -P 0x46 9M 1M');
  const started = await startQemu(t, { dir, args: ['-drive', `file=${top},format=qcow2,id=drive0,if=none`, ...extraArgs] });
  t.same(
    await liveBitmapCounts(started.client),
    { 'base.qcow2': { chk0: MiB }, 'a.qcow2': { chk0: 2 * MiB, old: MiB }, 'top.qcow2': { chk0: 2 * MiB, chk1: MiB } },
    'the chain starts with the bitmaps it was built with',
  );
  return { ...started, dir, base, a, top };
}
