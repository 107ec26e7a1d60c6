// Off a terminal, progress is a plain line per 10 % step: for a group commit that holds per disk,
// so the second disk is shown (it once shared the first one's step and never appeared) and no
// line is repeated when the disks' updates interleave.
import { PassThrough } from 'node:stream';
import t from 'tap';
import { Output } from '../../src/cli/output.js';

const stdout = new PassThrough();
const stderr = new PassThrough();
let text = '';
stderr.setEncoding('utf8').on('data', (d: string) => (text += d));
const out = new Output(false, { stdout, stderr });
for (const [label, percent] of [
  ['vda', 0],
  ['vdb', 0],
  ['vda', 3],
  ['vdb', 4],
  ['vda', 12],
  ['vdb', 55],
  ['vda', 100],
  ['vdb', 100],
] as const) {
  out.progress(`Block commit ${label}`, percent);
}
await new Promise((resolve) => setImmediate(resolve));
t.same(
  text.trim().split('\n'),
  [
    'Block commit vda: [  0.00 %]',
    'Block commit vdb: [  0.00 %]',
    'Block commit vda: [ 12.00 %]',
    'Block commit vdb: [ 55.00 %]',
    'Block commit vda: [100.00 %]',
    'Block commit vdb: [100.00 %]',
  ],
  'each disk once per 10 % step, in the order they came',
);
