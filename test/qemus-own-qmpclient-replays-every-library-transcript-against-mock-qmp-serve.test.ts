// Every transcript the library, the CLI or the controller recorded (test/fixtures/qemu-*/*.jsonl, not
// raw/) replays for QEMU's own asyncio QMPClient (test/helpers/qemu-peers.ts) against the real
// `mock-qmp serve --trace FILE --instant` (the model, its default): the recorder's commands sent by
// QMPClient with its own command ids and job ids (job-* verbs where the recorder sent an accepted
// block-job-* one), each once QMPClient has seen as many events as the recorder had. It gets every
// reply and event QEMU gave, under its own job ids, and the server's EOF exactly where QEMU went away.
import type { ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { fixturePath, fixtureSets, tempDir } from './helpers/qemu.js';
import { batchPeer, peersScript, qemuPython } from './helpers/qemu-peers.js';
import { finished, mockQmpListening, startMockQmpCli, type CliResult } from './helpers/cli.js';
import { rawOutcomes, rawSteps } from './helpers/raw-transcript.js';
import { drainBlips, readTrace, renameJob } from './helpers/replay.js';
import { asOtherClient, recordedJobIds } from './helpers/other-client.js';

// One python3 per set replays its transcripts in turn (a python3 start per transcript made this file
// 37–114 s a stack); each transcript keeps its own mock-qmp serve, started a few transcripts ahead.
t.setTimeout(240_000);
const AHEAD = 3;

interface Served {
  socket: string;
  server: ChildProcess;
  ended: Promise<CliResult>;
  listening: Promise<void>;
}

function serve(trace: string, socket: string): Served {
  const server = startMockQmpCli(['serve', '--trace', trace, '--socket', socket, '--instant']);
  const ended = finished(server, 120_000);
  const listening = mockQmpListening(server);
  listening.catch(() => {}); // started ahead: awaited (and its failure reported) in its turn
  return { socket, server, ended, listening };
}

for (const set of fixtureSets()) {
  const files = readdirSync(fixturePath('', set))
    .filter((f) => f.endsWith('.jsonl'))
    .sort();
  t.test(`${set}: QMPClient replays every library transcript against mock-qmp serve`, async (t) => {
    const py = qemuPython(t);
    if (!py) return;
    const dir = tempDir(t);
    const servers: Served[] = [];
    t.teardown(() => {
      for (const { server } of servers) if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
    });
    const peer = batchPeer(py, [peersScript, 'replay']);
    t.teardown(() => peer.end(5_000));
    for (const [i, file] of files.entries()) {
      for (let next = servers.length; next < Math.min(files.length, i + 1 + AHEAD); next++) {
        servers.push(serve(fixturePath(files[next]!, set), path.join(dir, `${next}.sock`)));
      }
      const { socket, server, ended, listening } = servers[i]!;
      await listening;
      const trace = readTrace(fixturePath(file, set));
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
      const qemuWent = trace.end?.end === 'qemu';
      const run = await peer.next(file, { socket, steps, events: events.length, close: qemuWent });
      server.kill('SIGTERM');
      await ended;
      t.equal(run.failed, undefined, `${file}: QMPClient replayed it`);
      const lines = run.lines;
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
    const { code, stderr } = await peer.end();
    t.equal(code, 0, `QMPClient's python3 should end cleanly once every transcript ran; stderr: ${stderr.slice(-600)}`);
  });
}
