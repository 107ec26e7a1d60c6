// What an interrupted commit leaves, in words that parse: with no intermediate it once said
// "no intermediate is no longer valid"; now base alone "is no longer valid on its own", and with
// intermediates they are named with it.
import t from 'tap';
import { JobInterruptedError } from '../../src/jobs/errors.js';

const facts = { jobId: 'commit-vda', disk: 'vda', lastStatus: 'running' as const, how: 'the connection to QEMU was lost', pivotRequested: false };
const alone = new JobInterruptedError({ ...facts, images: { top: '/i/top.qcow2', base: '/i/base.raw', above: [], between: [] } }).message;
t.match(alone, /base \/i\/base\.raw may be partly written and is no longer valid on its own — delete nothing/, alone);
t.notMatch(alone, /no intermediate/, 'no double negative');
const withBetween = new JobInterruptedError({ ...facts, images: { top: '/i/c.qcow2', base: '/i/base.raw', above: [], between: ['/i/a.qcow2', '/i/b.qcow2'] } })
  .message;
t.match(
  withBetween,
  /base \/i\/base\.raw may be partly written; it and the intermediates \/i\/a\.qcow2, \/i\/b\.qcow2 are no longer valid on their own/,
  withBetween,
);
