import path from 'node:path';
import type { Test } from 'tap';
import { QmpCommandError, type QmpEvent } from '../../src/internal.js';
import { startMockQmp, readTrace, type MockQmpOptions, type MockQmpServer, type Trace } from '../../mock-qmp/index.js';
import { tempDir } from './qemu.js';
import { connect } from '../../src/connect.js';

/** Starts a replay server on a socket in a temp folder; closed at teardown. */
export async function serveTrace(t: Test, options: Omit<MockQmpOptions, 'socket' | 'tcp'>): Promise<MockQmpServer> {
  const server = await startMockQmp({ ...options, socket: path.join(tempDir(t), 'mock.sock') });
  t.teardown(() => server.close());
  return server;
}

export interface RecordedCommand {
  name: string;
  args: Record<string, unknown> | undefined;
}

/** The commands a fixture's client sent, in order (ids dropped). */
export function recordedCommands(trace: Trace): RecordedCommand[] {
  return trace.messages
    .filter((m) => m.dir === 'out')
    .map((m) => ({ name: String(m.msg.execute), args: m.msg.arguments as Record<string, unknown> | undefined }));
}

/** What a reply looks like to a client: its return value or its error, without the id. */
export type Outcome = { return: unknown } | { error: { class: string; desc: string } };

export function recordedOutcomes(trace: Trace): Outcome[] {
  return trace.messages
    .filter((m) => m.dir === 'in' && ('return' in m.msg || 'error' in m.msg))
    .map((m) => ('error' in m.msg ? { error: m.msg.error as { class: string; desc: string } } : { return: m.msg.return }));
}

export function recordedEvents(trace: Trace): Array<{ event: string; data: unknown }> {
  return trace.messages.filter((m) => m.dir === 'in' && 'event' in m.msg).map((m) => ({ event: String(m.msg.event), data: m.msg.data ?? {} }));
}

/**
 * Messages of QEMU 10.0's drain blips: a job's JOB_STATUS_CHANGE paused then running with nothing
 * between, sent while another command drains. The model leaves them out (mock-qmp/model/jobs.ts).
 */
export function drainBlips(trace: Trace): Set<Trace['messages'][number]> {
  const status = (m: Trace['messages'][number] | undefined): unknown =>
    m?.msg.event === 'JOB_STATUS_CHANGE' ? (m.msg.data as { status: string }).status : undefined;
  const blips = new Set<Trace['messages'][number]>();
  const all = trace.messages;
  for (let i = 0; i + 1 < all.length; i++) if (status(all[i]) === 'paused' && status(all[i + 1]) === 'running') blips.add(all[i]!).add(all[i + 1]!);
  return blips;
}

/** The recorded events without drain blips: what the model sends. */
export function modelledEvents(trace: Trace): Array<{ event: string; data: unknown }> {
  const blips = drainBlips(trace);
  return trace.messages.filter((m) => m.dir === 'in' && 'event' in m.msg && !blips.has(m)).map((m) => ({ event: String(m.msg.event), data: m.msg.data ?? {} }));
}

export interface ReplayResult {
  outcomes: Outcome[];
  events: Array<{ event: string; data: unknown }>;
  closedByServer: boolean;
}

/**
 * Plays `commands` against a QMP server with a plain QmpClient, one after another, and collects
 * the outcomes and every event until `expectedEvents` have arrived or the server closed.
 */
export async function playCommands(
  socketPath: string,
  commands: readonly RecordedCommand[],
  expectedEvents: number,
  options: { timeoutMs?: number; expectClose?: boolean } = {},
): Promise<ReplayResult> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const negotiate = commands[0]?.name === 'qmp_capabilities';
  const client = await connect({ path: socketPath }, { negotiate, connectTimeoutMs: 5000, commandTimeoutMs: timeoutMs });
  const events: Array<{ event: string; data: unknown }> = [];
  let closedByServer = false;
  let onProgress = (): void => {};
  client.on('event', (e: QmpEvent) => {
    events.push({ event: e.event, data: e.data });
    onProgress();
  });
  client.on('close', (error) => {
    closedByServer = error !== undefined;
    onProgress();
  });
  const outcomes: Outcome[] = negotiate ? [{ return: {} }] : [];
  for (const command of negotiate ? commands.slice(1) : commands) {
    try {
      outcomes.push({ return: await client.executeUntyped(command.name, command.args) });
    } catch (error) {
      if (!(error instanceof QmpCommandError)) throw error;
      outcomes.push({ error: { class: error.errorClass, desc: error.desc } });
    }
  }
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${events.length} of ${expectedEvents} events arrived within ${timeoutMs} ms`)), timeoutMs);
    onProgress = () => {
      if ((events.length >= expectedEvents && !options.expectClose) || closedByServer) {
        clearTimeout(timer);
        resolve();
      }
    };
    onProgress();
  });
  await client.close();
  return { outcomes, events, closedByServer };
}

export { readTrace };

/** Replaces a job name everywhere in a JSON value (for the expected view of a renamed job). */
export function renameJob<T>(value: T, from: string, to: string): T {
  return JSON.parse(JSON.stringify(value).split(`"${from}"`).join(`"${to}"`).split(`'${from}'`).join(`'${to}'`)) as T;
}
