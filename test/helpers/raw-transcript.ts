import net from 'node:net';
import type { Trace } from '../../mock-qmp/index.js';

export interface RawStep {
  command: Record<string, unknown>;
  /** Events the transcript's client had seen before it sent this command: the raw client waits for as many. */
  eventsBefore: number;
}

/** A raw transcript's commands (ids dropped), each with the number of events (those `countEvent` keeps) its recorder had seen. */
export function rawSteps(trace: Trace, countEvent: (message: Trace['messages'][number]) => boolean = () => true): RawStep[] {
  const steps: RawStep[] = [];
  let events = 0;
  for (const m of trace.messages) {
    if (m.dir === 'in' && 'event' in m.msg && countEvent(m)) events += 1;
    if (m.dir === 'out') {
      const { id: _id, ...command } = m.msg;
      steps.push({ command, eventsBefore: events });
    }
  }
  return steps;
}

/** The transcript's replies in command order, as `{ return }` or `{ error: { class, desc } }`. */
export function rawOutcomes(trace: Trace): unknown[] {
  return trace.messages
    .filter((m) => m.dir === 'in' && ('return' in m.msg || 'error' in m.msg))
    .map(({ msg }) => ('error' in msg ? { error: msg.error } : { return: msg.return }));
}

export interface RawRun {
  outcomes: unknown[];
  events: Array<{ event: string; data: unknown; timestamp: unknown }>;
  closedByServer: boolean;
}

/**
 * Plays the steps over a bare socket (no QmpClient: JSON lines, ids it counts itself), each command
 * after its reply and after as many events as the recorder had seen, then until `events` arrived
 * (or, `untilClosed`, the server closed); bounded by `timeoutMs`.
 */
export function playRaw(
  socketPath: string,
  steps: readonly RawStep[],
  options: { timeoutMs?: number; events?: number; untilClosed?: boolean } = {},
): Promise<RawRun> {
  const { timeoutMs = 10_000, events: settleEvents = 0, untilClosed = false } = options;
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    const run: RawRun = { outcomes: [], events: [], closedByServer: false };
    let text = '';
    let next = 0;
    let awaiting: number | undefined;
    let greeted = false;
    let finished = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`raw client timed out after ${timeoutMs} ms at step ${next} (${JSON.stringify(steps[next]?.command)}), ${run.events.length} events`));
    }, timeoutMs);
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(run);
    };
    const pump = (): void => {
      if (!greeted || awaiting !== undefined) return;
      const step = steps[next];
      if (!step) {
        if (run.events.length >= settleEvents && !untilClosed) finish();
        return;
      }
      if (run.events.length < step.eventsBefore) return;
      awaiting = next;
      socket.write(`${JSON.stringify({ ...step.command, id: next })}\n`);
    };
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      let newline: number;
      while ((newline = text.indexOf('\n')) !== -1) {
        const line = text.slice(0, newline).trim();
        text = text.slice(newline + 1);
        if (!line) continue;
        const msg = JSON.parse(line) as Record<string, unknown>;
        if ('QMP' in msg) greeted = true;
        else if ('event' in msg) run.events.push({ event: String(msg.event), data: msg.data ?? {}, timestamp: msg.timestamp });
        else if (msg.id === awaiting) {
          run.outcomes.push('error' in msg ? { error: msg.error } : { return: msg.return });
          awaiting = undefined;
          next += 1;
        }
      }
      pump();
    });
    socket.on('close', () => {
      run.closedByServer = !finished;
      finish();
    });
    socket.on('error', (error) => {
      if (!finished) {
        clearTimeout(timer);
        reject(error);
      }
    });
  });
}
