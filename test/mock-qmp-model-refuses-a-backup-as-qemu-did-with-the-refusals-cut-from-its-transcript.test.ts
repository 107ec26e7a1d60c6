// The model answers blockdev-backup as QEMU did, job and refusals alike: each QEMU's recording of
// backup-full-then-incremental (record-fixtures), with its three refused blockdev-backup commands
// (unknown bitmap, a target another backup writes, a disk another backup reads) cut out, still
// answers the recording's own client with QEMU's replies, refusals included, and QEMU's events.
import path from 'node:path';
import t from 'tap';
import type { Trace } from '../mock-qmp/index.js';
import { fixturePath, fixtureSets } from './helpers/qemu.js';
import { modelledEvents, playCommands, readTrace, recordedCommands, recordedOutcomes, serveTrace } from './helpers/replay.js';

/** The trace without its refused blockdev-backup commands and their replies. */
function withoutRefusals(trace: Trace): { trace: Trace; cut: number } {
  const refused = new Set(trace.messages.filter((m) => m.dir === 'in' && 'error' in m.msg && m.msg.id !== undefined).map((m) => m.msg.id));
  const backups = new Set(trace.messages.filter((m) => m.dir === 'out' && m.msg.execute === 'blockdev-backup' && refused.has(m.msg.id)).map((m) => m.msg.id));
  return { trace: { ...trace, messages: trace.messages.filter((m) => !(m.msg.id !== undefined && backups.has(m.msg.id))) }, cut: backups.size };
}

for (const set of fixtureSets()) {
  t.test(`${set}: blockdev-backup's refusals come from the model when the transcript has none`, async (t) => {
    const recorded = readTrace(fixturePath('backup-full-then-incremental.jsonl', set));
    const { trace, cut } = withoutRefusals(recorded);
    t.equal(cut, 3, `${path.basename(recorded.source)} should hold three refused backups to cut`);
    const server = await serveTrace(t, { trace, instant: true, model: true });
    const events = modelledEvents(recorded);
    const result = await playCommands(server.path!, recordedCommands(recorded), events.length);
    t.same(result.outcomes, recordedOutcomes(recorded), 'every reply, the three refusals included, should be the one QEMU gave');
    t.same(result.events, events, 'the two backups should send the events QEMU sent');
  });
}
