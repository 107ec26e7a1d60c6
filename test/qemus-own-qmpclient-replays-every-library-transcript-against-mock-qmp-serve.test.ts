// Every transcript the library, the CLI or the controller recorded (test/fixtures/qemu-*/*.jsonl, not
// raw/) replays for QEMU's own asyncio QMPClient (test/helpers/qemu-peers.ts) against the real
// `mock-qmp serve --trace FILE --instant` (the model, its default): the recorder's commands sent by
// QMPClient with its own command ids and job ids (job-* verbs where the recorder sent an accepted
// block-job-* one), each once QMPClient has seen as many events as the recorder had. It gets every
// reply and event QEMU gave, under its own job ids, and the server's EOF exactly where QEMU went away.
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { fixturePath, fixtureSets, tempDir } from './helpers/qemu.js';
import { completed, peersScript, printed, python, qemuPython } from './helpers/qemu-peers.js';
import { finished, startMockQmpCli } from './helpers/cli.js';
import { rawOutcomes, rawSteps } from './helpers/raw-transcript.js';
import { drainBlips, readTrace, renameJob } from './helpers/replay.js';
import { asOtherClient, recordedJobIds } from './helpers/other-client.js';

// 18 transcripts × 3 sets, a python3 start each: past tap's default 120 s on a loaded 2-core runner (114 s seen).
t.setTimeout(360_000);

for (const set of fixtureSets()) {
  const files = readdirSync(fixturePath('', set))
    .filter((f) => f.endsWith('.jsonl'))
    .sort();
  t.test(`${set}: QMPClient replays every library transcript against mock-qmp serve`, async (t) => {
    const py = qemuPython(t);
    if (!py) return;
    for (const file of files) {
      const trace = readTrace(fixturePath(file, set));
      const dir = tempDir(t);
      const socket = path.join(dir, 'mock.sock');
      const server = startMockQmpCli(['serve', '--trace', fixturePath(file, set), '--socket', socket, '--instant']);
      const ended = finished(server, 120_000);
      // mock-qmp says on stderr once it listens.
      await new Promise<void>((resolve, reject) => {
        let said = '';
        const timer = setTimeout(() => reject(new Error(`mock-qmp serve did not listen within 15 s: ${said}`)), 15_000);
        server.stderr?.on('data', (chunk: Buffer | string) => {
          said += chunk.toString();
          if (said.includes('serving')) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      const blips = drainBlips(trace);
      const ids = recordedJobIds(trace);
      const mine = (value: unknown): unknown => ids.reduce((v, id, i) => renameJob(v, id, `py-${i}`), value);
      const outcomes = rawOutcomes(trace);
      const steps = rawSteps(trace, (m) => !blips.has(m)).map((step, i) => {
        const accepted = typeof outcomes[i] === 'object' && outcomes[i] !== null && 'return' in (outcomes[i] as object);
        return { ...step, command: mine(asOtherClient(step.command, accepted)) };
      });
      const events = trace.messages
        .filter((m) => m.dir === 'in' && 'event' in m.msg && !blips.has(m))
        .map(({ msg }) => mine({ event: msg.event, data: msg.data ?? {} }));
      const stepsFile = path.join(dir, 'steps.json');
      writeFileSync(stepsFile, JSON.stringify(steps));
      const qemuWent = trace.end?.end === 'qemu';
      const run = await completed(python(py, [peersScript, 'replay', socket, stepsFile, String(events.length), qemuWent ? '1' : '0']));
      server.kill('SIGTERM');
      await ended;
      t.equal(run.code, 0, `${file}: QMPClient replayed it; stderr: ${run.stderr.slice(-600)}`);
      const lines = printed(run.stdout);
      t.same(
        lines.filter((l) => 'outcome' in l).map((l) => l.outcome),
        mine(outcomes),
        `${file}: every reply should be QEMU's, under QMPClient's job ids`,
      );
      t.same(
        lines.filter((l) => 'event' in l),
        events,
        `${file}: every event should be QEMU's, under QMPClient's job ids`,
      );
      if (qemuWent) t.same(lines.at(-1), { closed: true }, `${file}: the server should close where QEMU went away`);
    }
  });
}
