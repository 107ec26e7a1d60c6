// The event child's stderr, as virsh 9.0 and 11.3 printed it with libvirt's client log on (recorded by
// test/fixtures/record-virsh-event-child.ts): exactly one line is the registration notice, it is the
// reply to the register call and comes before the first event; every other log line is set aside,
// and virsh's own "error: …" words are kept for the error message.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { classifyEventChildStderr } from '../../src/transport/virsh/wire.js';
import { repoRoot } from '../helpers/qemu.js';

interface Recording {
  libvirt: string;
  command: string;
  live: { stderr: string[]; stdout: string[] };
  absent: { stderr: string[] };
}

const fixtures = path.join(repoRoot, 'test', 'fixtures');
const sets = readdirSync(fixtures).filter((d) => /^libvirt-\d+\.\d+$/.test(d));
t.ok(sets.length >= 2, `recordings from both stacks' libvirt should be there (found ${sets.join(', ')})`);

for (const set of sets) {
  const recording = JSON.parse(readFileSync(path.join(fixtures, set, 'event-child-stderr.json'), 'utf8')) as Recording;
  t.test(`libvirt ${recording.libvirt}`, async (t) => {
    const live = recording.live.stderr.map(classifyEventChildStderr);
    const notices = live.flatMap((c, i) => (c.kind === 'registered' ? [i] : []));
    t.equal(notices.length, 1, 'exactly one line should be the registration notice');
    const at = notices[0]!;
    t.match(
      recording.live.stderr[at],
      /RPC_CLIENT_MSG_RX: .* prog=536903815 vers=1 proc=4 type=1 status=0/,
      'the notice should be the reply to the register call',
    );
    t.match(
      recording.live.stderr[at - 1],
      /RPC_CLIENT_MSG_TX_QUEUE: .* prog=536903815 vers=1 proc=4 type=0/,
      'the line before should be the register call itself',
    );
    t.ok(
      recording.live.stderr.slice(at + 1).every((l) => / proc=6 type=2 /.test(l)),
      'after the notice only the events (proc 6, type 2 = message) should follow',
    );
    t.same(
      live.filter((c) => c.kind === 'virsh'),
      [],
      'a healthy event child says nothing of its own',
    );
    t.ok(
      recording.live.stdout.some((l) => l.startsWith('event STOP')),
      'the events themselves stay on stdout',
    );

    const absent = recording.absent.stderr.map(classifyEventChildStderr);
    t.same(
      absent.filter((c) => c.kind === 'registered'),
      [],
      'an unknown domain never registers',
    );
    const kept = absent.flatMap((c) => (c.kind === 'virsh' ? [c.text] : []));
    t.equal(kept.length, 1, "only virsh's own error line should be kept for the message");
    t.match(kept[0], /^error: failed to get domain '.+-absent'$/, 'and it should say which domain was not found');
  });
}

t.test('a register reply that failed, or another procedure, is no notice', async (t) => {
  const recording = JSON.parse(readFileSync(path.join(fixtures, sets[0]!, 'event-child-stderr.json'), 'utf8')) as Recording;
  const notice = recording.live.stderr.find((l) => classifyEventChildStderr(l).kind === 'registered')!;
  const changed = (from: string, to: string): string => notice.replace(from, to);
  t.equal(classifyEventChildStderr(changed('status=0', 'status=1')).kind, 'log', 'a failed register call (status 1) is not');
  t.equal(classifyEventChildStderr(changed('proc=4 ', 'proc=1 ')).kind, 'log', 'a monitor command reply (proc 1) is not');
  t.equal(classifyEventChildStderr(changed('prog=536903815', 'prog=536903814')).kind, 'log', 'the same procedure of the main program is not');
  t.equal(classifyEventChildStderr(changed('type=1', 'type=0')).kind, 'log', 'the call going out (type 0) is not');
});
