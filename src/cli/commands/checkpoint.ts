// `checkpoint create|list|delete` (virsh checkpoint-create / checkpoint-list / checkpoint-delete): the library's checkpoints.ts.
import { createCheckpoint, deleteCheckpoint, listCheckpoints, type DiskCheckpoints } from '../../block/checkpoints.js';
import { findDisk } from '../../block/chain.js';
import { UsageError } from '../args.js';
import { cliDisks } from '../disks.js';
import type { CommandSpec } from '../context.js';

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(2)} MiB`;
}

function render(disks: readonly DiskCheckpoints[]): string {
  const rows: string[][] = [];
  for (const d of disks) {
    for (const layer of [...d.layers].reverse()) {
      for (const b of layer.bitmaps)
        rows.push([
          b.name,
          `${d.disk}[${layer.index}]`,
          layer.file,
          mib(b.count),
          b.inconsistent ? 'inconsistent' : b.recording ? 'recording' : 'disabled',
          b.persistent ? 'persistent' : 'transient',
        ]);
    }
  }
  if (!rows.length) return 'No checkpoints';
  const header = ['Checkpoint', 'Image', 'File', 'Dirty', 'State', 'Kept'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  return [header, ...rows]
    .map((cells) =>
      cells
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export const checkpointCommand: CommandSpec = {
  name: 'checkpoint',
  summary: 'create, list or delete checkpoints: persistent dirty bitmaps on every disk at one instant (virsh checkpoint-create/-list/-delete)',
  usage: 'checkpoint create NAME [DISK…] | checkpoint list [DISK…] | checkpoint delete NAME [DISK…]',
  details:
    'create: a persistent bitmap NAME on the active image of each DISK (default: every disk in use), all in one QMP\ntransaction, so each starts at the same instant. Snapshots, commits, pulls and copies carry it along.\nlist: per disk, the image each bitmap lives in and how much it marks dirty.\ndelete: merges NAME into the checkpoint made before it (where both live), then removes it, on every disk, in one\ntransaction. A checkpoint that lives in a read-only backing image too is refused: commit that image first.',
  examples: [
    'qmp-blockjob --socket /tmp/qmp.sock checkpoint create chk1',
    'qmp-blockjob --socket /tmp/qmp.sock checkpoint list vda',
    'qmp-blockjob --socket /tmp/qmp.sock checkpoint delete chk0',
  ],
  options: {},
  async run(context) {
    const [verb, ...rest] = context.positionals;
    if (verb !== 'create' && verb !== 'list' && verb !== 'delete')
      throw new UsageError(`checkpoint wants create, list or delete, got ${verb === undefined ? 'nothing' : `'${verb}'`}`, 'checkpoint');
    const name = verb === 'list' ? undefined : rest[0];
    const diskNames = verb === 'list' ? rest : rest.slice(1);
    if (verb !== 'list' && !name) throw new UsageError(`checkpoint ${verb} wants a NAME`, 'checkpoint');
    const client = await context.connect();
    // Names as the user knows them (libvirt's vda with --domain) → names the block layer resolves.
    const all = await cliDisks(context, client);
    const disks = diskNames.map((n) => {
      const d = findDisk(all, n);
      return d.qdevPath ?? d.driveId ?? d.device;
    });
    const options = { signal: context.signal, ...(disks.length ? { disks } : {}) };
    if (verb === 'list') {
      const listed = await listCheckpoints(client, options);
      context.out.result(render(listed), { type: 'checkpoints', disks: listed });
    } else if (verb === 'create') {
      const made = await createCheckpoint(client, name!, options);
      context.out.result(`Checkpoint ${name} created on ${made.map((d) => `${d.disk} (${d.layers.at(-1)?.file})`).join(', ')}`, {
        type: 'checkpoint',
        name: name!,
        disks: made.map((d) => ({ disk: d.disk, file: d.layers.at(-1)?.file })),
      });
    } else {
      const deleted = await deleteCheckpoint(client, name!, options);
      context.out.result(
        deleted
          .map((d) => `Checkpoint ${name} deleted on ${d.disk}: removed from ${d.removedFrom.join(', ')}${d.mergedInto ? `, merged into ${d.mergedInto}` : ''}`)
          .join('\n'),
        { type: 'checkpoint-deleted', name: name!, disks: deleted },
      );
    }
    return 0;
  },
};
