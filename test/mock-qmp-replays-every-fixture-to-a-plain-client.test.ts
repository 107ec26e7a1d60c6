// Each recorded fixture, replayed by mock-qmp, gives a plain QmpClient repeating the recorded commands
// the same replies and the same events (names and data) as QEMU gave; job names follow the client's.
// The same through the model (`model: true`).
import { readdirSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { fixturePath, fixtureSets } from './helpers/qemu.js';
import { modelledEvents, playCommands, readTrace, recordedCommands, recordedEvents, recordedOutcomes, renameJob, serveTrace } from './helpers/replay.js';

const sets = fixtureSets();

t.test('there are fixtures of QEMU 7.2 and 10.0 to replay', async (t) => {
  t.ok(sets.includes('qemu-7.2') && sets.includes('qemu-10.0'), `expected both fixture sets, found ${sets.join(', ')}`);
  const names = (set: string): string[] =>
    readdirSync(fixturePath('', set))
      .filter((f) => f.endsWith('.jsonl'))
      .sort();
  for (const set of sets) t.ok(names(set).length >= 9, `${set}: expected the recorded fixtures, found ${names(set).join(', ')}`);
  for (const set of sets.slice(1)) t.same(names(set), names(sets[0]!), `${set} should have the same scenarios as ${sets[0]}`);
});

for (const { set, file } of sets.flatMap((set) =>
  readdirSync(fixturePath('', set))
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .map((file) => ({ set, file: `${set}/${file}` })),
)) {
  t.test(`${file} replays as recorded`, async (t) => {
    const trace = readTrace(fixturePath(path.basename(file), set));
    const server = await serveTrace(t, { trace, instant: true });
    const events = recordedEvents(trace);
    const result = await playCommands(server.path!, recordedCommands(trace), events.length, { expectClose: trace.end?.end === 'qemu' });
    t.same(result.outcomes, recordedOutcomes(trace), `${file}: the replies should be the recorded ones`);
    t.same(result.events, events, `${file}: the whole event sequence should be the recorded one`);
    t.equal(result.closedByServer, trace.end?.end === 'qemu', `${file}: the server should close only where QEMU went away`);
  });

  t.test(`${file} replays as recorded through the model`, async (t) => {
    // The model (model: true) answers the recording's own client as the replay does: same replies
    // (refusals included), same events (but QEMU 10.0's drain blips), same end, with current timestamps.
    const trace = readTrace(fixturePath(path.basename(file), set));
    const server = await serveTrace(t, { trace, instant: true, model: true });
    const events = modelledEvents(trace);
    const commands = renameJob(recordedCommands(trace), 'commit-job', 'my-job');
    const result = await playCommands(server.path!, commands, events.length, { expectClose: trace.end?.end === 'qemu' });
    t.same(
      result.outcomes,
      renameJob(recordedOutcomes(trace), 'commit-job', 'my-job'),
      `${file}: the replies should be the recorded ones under the client's job name`,
    );
    t.same(result.events, renameJob(events, 'commit-job', 'my-job'), `${file}: the whole event sequence should be the recorded one`);
    t.equal(result.closedByServer, trace.end?.end === 'qemu', `${file}: the server should close only where QEMU went away`);
  });

  t.test(`${file} replays for a client that names its job my-job`, async (t) => {
    const trace = readTrace(fixturePath(path.basename(file), set));
    const server = await serveTrace(t, { trace, instant: true });
    const commands = renameJob(recordedCommands(trace), 'commit-job', 'my-job');
    const events = recordedEvents(trace);
    const result = await playCommands(server.path!, commands, events.length);
    t.same(result.outcomes, renameJob(recordedOutcomes(trace), 'commit-job', 'my-job'), `${file}: replies should name the client's job`);
    t.same(result.events, renameJob(events, 'commit-job', 'my-job'), `${file}: events should name the client's job`);
  });
}

for (const set of sets)
  t.test(`${set}: a client that gives no job-id sees the job named after the device, as QEMU would name it`, async (t) => {
    const trace = readTrace(fixturePath('active-commit-pivot.jsonl', set));
    const server = await serveTrace(t, { trace, instant: true });
    const commands = recordedCommands(trace).map((c) => {
      if (c.name !== 'block-commit') return renameJob(c, 'commit-job', 'drive0');
      const { 'job-id': _jobId, ...args } = c.args ?? {};
      return { name: c.name, args };
    });
    const events = recordedEvents(trace);
    const result = await playCommands(server.path!, commands, events.length);
    t.same(result.events, renameJob(events, 'commit-job', 'drive0'), 'events should carry the device name as the job name');
    t.same(result.outcomes, renameJob(recordedOutcomes(trace), 'commit-job', 'drive0'), 'query-block-jobs should list the job under the device name');
  });
