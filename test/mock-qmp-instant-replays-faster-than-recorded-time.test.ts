// --speed scales the recorded spacing and --instant removes it: a slowed replay takes at least the
// recorded span divided by the speed, an instant one takes less than the recorded span itself.
import t from 'tap';
import { fixturePath, fixtureSets } from './helpers/qemu.js';
import { playCommands, readTrace, recordedCommands, recordedEvents, serveTrace } from './helpers/replay.js';

for (const set of fixtureSets())
  t.test(`${set}: speed scaling`, async (t) => {
    const trace = readTrace(fixturePath('active-commit-pivot.jsonl', set));
    // The server paces what QEMU took (gaps ending in an "in" message); the client's own think time
    // between a message and its next command is not the server's to reproduce.
    const pacedSpan = trace.messages.reduce((sum, m, i) => (i > 0 && m.dir === 'in' ? sum + (m.t - trace.messages[i - 1]!.t) : sum), 0);
    const timed = async (options: { instant?: boolean; speed?: number }): Promise<number> => {
      const server = await serveTrace(t, { trace, ...options });
      const started = performance.now();
      await playCommands(server.path!, recordedCommands(trace), recordedEvents(trace).length);
      return (performance.now() - started) / 1000;
    };
    // Slowed so that the recorded span becomes at least 1 s: a newer QEMU answers in a few ms (11.1's
    // whole span is ~18 ms), and at a fixed 0.05 the bounds below were then within a loaded machine's noise.
    const speed = Math.min(0.05, pacedSpan);
    const slowed = await timed({ speed });
    const instant = await timed({ instant: true });
    // 0.75: the server's schedule runs from the recording's start, so a client slower than the recorder eats
    // into QEMU's reply latencies, a larger share of a newer QEMU's short span (11.1: 4.7 of 18.2 ms; replays
    // measured at 0.80-0.87 of the scaled span there, 0.9+ on 7.2 and 10.0).
    t.ok(
      slowed >= (pacedSpan / speed) * 0.75,
      `at speed ${speed} the replay (${slowed.toFixed(3)} s) should take at least the recorded ${pacedSpan.toFixed(3)} s / ${speed}`,
    );
    t.ok(instant < slowed / 4, `instant replay (${instant.toFixed(3)} s) should be far faster than the slowed one (${slowed.toFixed(3)} s)`);
    t.ok(
      instant < pacedSpan / speed / 4,
      `instant replay (${instant.toFixed(3)} s) should take well under the scaled recorded time (${(pacedSpan / speed).toFixed(3)} s)`,
    );
  });
