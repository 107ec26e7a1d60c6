import { checkSnapshotSpec, type SnapshotSpec } from '../../block/snapshot.js';
import { InvalidSnapshotSpecError } from '../../block/errors.js';
import { diskLabel, findDisk } from '../../block/chain.js';
import { cliDisks } from '../disks.js';
import { UsageError } from '../args.js';
import { flag, stringOption, type CommandSpec } from '../context.js';

/** Splits at single commas; virsh's `,,` stands for a comma inside a value (a file name with a comma). */
function splitDiskspec(text: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== ',') current += text[i];
    else if (text[i + 1] === ',') {
      current += ',';
      i++;
    } else {
      parts.push(current);
      current = '';
    }
  }
  return [...parts, current];
}

/** virsh's `--diskspec vda,snapshot=external,file=/path,driver=qcow2` (`,,` for a comma in a value). */
export function parseDiskspec(text: string): SnapshotSpec {
  const [disk, ...pairs] = splitDiskspec(text);
  if (!disk) throw new UsageError(`--diskspec wants DISK,file=PATH, got '${text}'`, 'snapshot');
  const spec: SnapshotSpec = { disk, file: '' };
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const key = eq > 0 ? pair.slice(0, eq) : pair;
    const value = eq > 0 ? pair.slice(eq + 1) : '';
    switch (key) {
      case 'file':
        spec.file = value;
        break;
      case 'snapshot':
        if (value !== 'external') throw new UsageError(`only external disk snapshots are supported, got snapshot=${value}`, 'snapshot');
        break;
      case 'driver':
        if (value !== 'qcow2') throw new UsageError(`overlays are qcow2, got driver=${value}`, 'snapshot');
        break;
      case 'node-name':
        spec.nodeName = value;
        break;
      default:
        throw new UsageError(`unknown --diskspec key '${key}' (known: file, snapshot, driver, node-name)`, 'snapshot');
    }
  }
  if (!spec.file) throw new UsageError(`--diskspec ${text} names no file=PATH`, 'snapshot');
  return spec;
}

export const snapshotCommand: CommandSpec = {
  name: 'snapshot',
  summary: 'create live external qcow2 overlays, atomically across disks (virsh snapshot-create-as --disk-only --atomic)',
  usage:
    'snapshot DISK --file PATH [--node-name NAME] | snapshot --diskspec DISK,file=PATH [--diskspec …] [--quiesce [--agent PATH] [--freeze-timeout SECONDS]]',
  details:
    "Each new overlay becomes the active layer of its disk; the old active layer becomes its backing file.\nSeveral --diskspec are one QMP transaction: all disks get their overlay, or none does.\n--quiesce (virsh --quiesce): the guest's filesystems are frozen through qemu-guest-agent for the transaction and thawed\nafterwards, also after an error, Ctrl-C or a lost connection. --agent PATH is the agent's socket (QEMU's chardev of\nthe org.qemu.guest_agent.0 port); under --domain libvirt's agent is used. --freeze-timeout (default 10 s) bounds how\nlong the guest stays frozen. Without an answering agent nothing is created.",
  examples: [
    'qmp-blockjob --socket /tmp/qmp.sock snapshot vda --file /images/sn1.qcow2',
    'qmp-blockjob --socket /tmp/qmp.sock snapshot --diskspec vda,file=/images/vda-sn1.qcow2 --diskspec vdb,file=/images/vdb-sn1.qcow2',
    'qmp-blockjob --socket /tmp/qmp.sock snapshot vda --file /images/sn1.qcow2 --quiesce --agent /tmp/qga.sock',
  ],
  options: {
    file: { type: 'string' },
    diskspec: { type: 'string', multiple: true },
    'node-name': { type: 'string' },
    quiesce: { type: 'boolean' },
    agent: { type: 'string' },
    'freeze-timeout': { type: 'string' },
  },
  async run(context) {
    const diskspecs = (context.values.diskspec as string[] | undefined) ?? [];
    const file = stringOption(context, 'file');
    const nodeName = stringOption(context, 'node-name');
    const [disk, ...extra] = context.positionals;
    if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`, 'snapshot');
    let specs: SnapshotSpec[];
    if (diskspecs.length) {
      if (disk || file || nodeName) throw new UsageError('use either DISK --file PATH or --diskspec, not both', 'snapshot');
      specs = diskspecs.map(parseDiskspec);
    } else {
      if (!disk || !file) throw new UsageError('snapshot wants DISK --file PATH, or --diskspec DISK,file=PATH', 'snapshot');
      specs = [{ disk, file, ...(nodeName ? { nodeName } : {}) }];
    }
    for (const spec of specs) {
      try {
        checkSnapshotSpec(spec);
      } catch (error) {
        // Known without QEMU: a usage mistake, said before connecting.
        if (error instanceof InvalidSnapshotSpecError) throw new UsageError(error.message, 'snapshot');
        throw error;
      }
    }
    const client = await context.connect();
    // Names as the user knows them (libvirt's vda with --domain) → names the block layer resolves.
    const disks = await cliDisks(context, client);
    const resolved = specs.map((spec) => {
      const disk = findDisk(disks, spec.disk);
      return { ...spec, disk: disk.qdevPath ?? disk.driveId ?? disk.device };
    });
    let chains;
    if (flag(context, 'quiesce')) {
      const { quiescedSnapshots } = await import('../quiesce.js');
      chains = await quiescedSnapshots(context, client, resolved, stringOption(context, 'agent'), stringOption(context, 'freeze-timeout'));
    } else {
      if (stringOption(context, 'agent') !== undefined || stringOption(context, 'freeze-timeout') !== undefined)
        throw new UsageError('--agent and --freeze-timeout go with --quiesce', 'snapshot');
      const { createSnapshots } = await import('../../block/snapshot.js');
      chains = await createSnapshots(client, resolved, { signal: context.signal });
    }
    for (const [i, chain] of chains.entries()) {
      const active = chain.layers.at(-1);
      context.out.result(
        `Snapshot created: ${specs[i]?.disk ?? diskLabel(chain)} now runs on ${active?.file} (${active?.nodeName}), ${chain.layers.length} images in its chain`,
        {
          type: 'snapshot',
          disk: specs[i]?.disk,
          chain,
        },
      );
    }
    // The transaction was sent before the signal came, or the reply was awaited: the overlay is live.
    if (context.signal.aborted)
      context.out.warn('the interrupt came while the snapshot was under way: QEMU took it, and the guest runs on the new overlay — do not delete it');
    return 0;
  },
};
