import { cliDisk } from '../disks.js';
import { UsageError } from '../args.js';
import type { CommandSpec } from '../context.js';

export const chainCommand: CommandSpec = {
  name: 'chain',
  summary: 'show the live backing chain of a disk, active layer first, with the DISK[N] name of each image',
  usage: 'chain DISK',
  details: `Like \`qemu-img info --backing-chain\`, but as QEMU has the chain open right now.
DISK is a device, drive or export id, libvirt's target, a node name or the active image's path.
DISK[N] addresses an image in \`commit --top/--base\`. Over a socket N is the position, base = 1;
with --domain it is libvirt's own index, as virsh uses it: libvirt counts a chain it found when the
guest started from the top (active = 1) and gives each later snapshot the next free number.
The rows are always in chain order, whatever the numbers.`,
  examples: ['qmp-blockjob --socket /tmp/qmp.sock chain vda', 'qmp-blockjob --socket /tmp/qmp.sock chain drive0 --json'],
  options: {},
  async run(context) {
    const [name, ...extra] = context.positionals;
    if (!name) throw new UsageError('chain wants a DISK', 'chain');
    if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`, 'chain');
    const client = await context.connect();
    const { disk } = await cliDisk(context, client, name);
    const layers = [...disk.layers].reverse();
    if (context.out.json) {
      context.out.result(undefined, { type: 'chain', disk: name, device: disk.device, layers });
      return 0;
    }
    const rows = layers.map((layer, i) => [
      `${name}[${layer.index}]`,
      layer.nodeName,
      layer.format,
      layer.file,
      i === 0 ? '(active)' : layer.backingFile === undefined && i === layers.length - 1 ? '(base)' : '',
    ]);
    const header = ['Index', 'Node', 'Format', 'File', ''];
    const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
    const fmt = (cells: string[]): string =>
      cells
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join('  ')
        .trimEnd();
    context.out.result([fmt(header), ...rows.map(fmt)].join('\n'));
    return 0;
  },
};
