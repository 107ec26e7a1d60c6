import { diskLabel } from '../../block/chain.js';
import { cliDisks } from '../disks.js';
import type { CommandSpec } from '../context.js';

export const blocksCommand: CommandSpec = {
  name: 'blocks',
  summary: 'list disks and their active image (virsh domblklist)',
  usage: 'blocks',
  details: 'Target is the name to use in other commands: the device id, else the -drive id, else the node name of a bare -blockdev chain.',
  examples: ['qmp-blockjob --socket /tmp/qmp.sock blocks', 'qmp-blockjob blocks --socket /tmp/qmp.sock --json'],
  options: {},
  async run(context) {
    const client = await context.connect();
    const disks = await cliDisks(context, client);
    if (context.out.json) {
      for (const disk of disks) context.out.result(undefined, { type: 'disk', target: diskLabel(disk), source: disk.layers.at(-1)?.file, ...disk });
      return 0;
    }
    const width = Math.max(6, ...disks.map((d) => diskLabel(d).length));
    const lines = [` ${'Target'.padEnd(width)}   Source`, '-'.repeat(Math.max(48, width + 12))];
    for (const disk of disks) lines.push(` ${diskLabel(disk).padEnd(width)}   ${disk.layers.at(-1)?.file ?? '-'}`);
    context.out.result(lines.join('\n'));
    return 0;
  },
};
