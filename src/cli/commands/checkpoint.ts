// `checkpoint create|list|delete` (virsh checkpoint-create / checkpoint-list / checkpoint-delete): the library's checkpoints.ts.
import { createCheckpoint, deleteCheckpoint, listCheckpoints, type DiskCheckpoints } from '../../block/checkpoints.js';
import { diskLabel, findDisk } from '../../block/chain.js';
import type { DiskChain } from '../../block/types.js';
import { UsageError } from '../args.js';
import { cliDisks } from '../disks.js';
import { flag, stringOption, type CommandSpec } from '../context.js';

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(2)} MiB`;
}

/** The library labels a disk by QEMU's names; the user knows it by libvirt's target under --domain: label → that name. */
function userNames(all: readonly DiskChain[]): (label: string) => string {
  const named = new Map(
    all.map((d) => {
      const { target: _libvirtName, ...qemuView } = d;
      return [diskLabel(qemuView), diskLabel(d)] as const;
    }),
  );
  return (label) => named.get(label) ?? label;
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
  usage: 'checkpoint create NAME [DISK…] [--quiesce [--agent PATH] [--freeze-timeout SECONDS]] | checkpoint list [DISK…] | checkpoint delete NAME [DISK…]',
  details: `create: a persistent bitmap NAME on the active image of each DISK (default: every disk in use), all in one QMP
transaction, so each starts at the same instant. Snapshots, commits, pulls and copies carry it along.
--quiesce (virsh checkpoint-create --quiesce): the guest's filesystems are frozen through qemu-guest-agent for the
transaction and thawed afterwards, also after an error, Ctrl-C or a lost connection, so the checkpoint marks a
consistent instant. --agent PATH is the agent's socket; under --domain libvirt's agent is used. --freeze-timeout
(default 10 s) bounds how long the guest stays frozen. Without an answering agent nothing is created.
list: per disk, the image each bitmap lives in and how much it marks dirty.
delete: merges NAME into the checkpoint made before it (where both live), then removes it, on every disk, in one
transaction. A checkpoint that lives in a read-only backing image too is refused: commit that image first.`,
  examples: [
    'qmp-blockjob --socket /tmp/qmp.sock checkpoint create chk1',
    'qmp-blockjob --socket /tmp/qmp.sock checkpoint create chk2 --quiesce --agent /tmp/qga.sock',
    'qmp-blockjob --socket /tmp/qmp.sock checkpoint list vda',
    'qmp-blockjob --socket /tmp/qmp.sock checkpoint delete chk0',
  ],
  options: {
    quiesce: { type: 'boolean' },
    agent: { type: 'string' },
    'freeze-timeout': { type: 'string' },
  },
  async run(context) {
    const [verb, ...rest] = context.positionals;
    if (verb !== 'create' && verb !== 'list' && verb !== 'delete')
      throw new UsageError(`checkpoint wants create, list or delete, got ${verb === undefined ? 'nothing' : `'${verb}'`}`, 'checkpoint');
    const name = verb === 'list' ? undefined : rest[0];
    const diskNames = verb === 'list' ? rest : rest.slice(1);
    if (verb !== 'list' && !name) throw new UsageError(`checkpoint ${verb} wants a NAME`, 'checkpoint');
    const quiesce = flag(context, 'quiesce');
    const agentPath = stringOption(context, 'agent');
    const freezeTimeout = stringOption(context, 'freeze-timeout');
    if (quiesce && verb !== 'create') throw new UsageError('--quiesce goes with checkpoint create', 'checkpoint');
    if (!quiesce && (agentPath !== undefined || freezeTimeout !== undefined))
      throw new UsageError('--agent and --freeze-timeout go with --quiesce', 'checkpoint');
    const client = await context.connect();
    // Names as the user knows them (libvirt's vda with --domain) → names the block layer resolves.
    const all = await cliDisks(context, client);
    const disks = diskNames.map((n) => {
      const d = findDisk(all, n);
      return d.qdevPath ?? d.driveId ?? d.device;
    });
    const options = { signal: context.signal, ...(disks.length ? { disks } : {}) };
    const named = userNames(all);
    if (verb === 'list') {
      const listed = (await listCheckpoints(client, options)).map((d) => ({ ...d, disk: named(d.disk) }));
      context.out.result(render(listed), { type: 'checkpoints', disks: listed });
    } else if (verb === 'create') {
      let made;
      if (quiesce) {
        const { quiescedCheckpoint } = await import('../quiesce.js');
        made = await quiescedCheckpoint(context, client, name!, options.disks, agentPath, freezeTimeout);
      } else made = await createCheckpoint(client, name!, options);
      made = made.map((d) => ({ ...d, disk: named(d.disk) }));
      context.out.result(`Checkpoint ${name} created on ${made.map((d) => `${d.disk} (${d.layers.at(-1)?.file})`).join(', ')}`, {
        type: 'checkpoint',
        name: name!,
        disks: made.map((d) => ({ disk: d.disk, file: d.layers.at(-1)?.file })),
      });
    } else {
      const deleted = (await deleteCheckpoint(client, name!, options)).map((d) => ({ ...d, disk: named(d.disk) }));
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
