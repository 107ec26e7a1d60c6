/*
 * The jobs of a transcript: for each job a successful job-creating command started, the events QEMU
 * sent for it as steps with their recorded spacing, which client verb each step waited for, what
 * query-jobs / query-block-jobs showed along the way, and whether QEMU went away with it still alive.
 */
import type { QmpMessage } from '../../src/framing.js';
import { isJsonObject as isObject } from '../../src/util/json.js';
import { createsJob, jobNameOf, transactionJobs } from '../job-names.js';
import type { Exchange, Script } from '../script.js';
import { Epochs, jobWhat, type JobSpan, type RecordedGraph } from './graph.js';

/**
 * Verbs a job waits for: the recording's events after one of these came only because it was sent
 * (set-speed: a throttled job's later events came once its client lifted the throttle).
 */
export const WAITING_VERBS = new Set(['complete', 'cancel', 'finalize', 'dismiss', 'resume', 'pause', 'set-speed']);

export interface JobStep {
  /** The event as recorded (recorded job name). */
  event: QmpMessage;
  /** Milliseconds after the previous step, or after the verb that released it. */
  delayMs: number;
  /** In the recording this step came only once the client had sent this verb. */
  after?: string;
  /** Recorded before the reply to the command that released it (QEMU 7.2's created/running). */
  beforeReply: boolean;
}

export interface RecordedEntry {
  status: string;
  /** Guest writes (HMP qemu-io write) the recording had sent before this query. */
  writes: number;
  entry: Record<string, unknown>;
}

export interface RecordedJob {
  id: string;
  type: string;
  command: Exchange;
  /** What the command does in the graph's names (graph.ts jobWhat), for matching a client's command. */
  what: string;
  /** Epochs of the graph before the job, while it ran, after it ended. */
  epoch: number;
  epochDuring: number;
  epochAfter: number;
  steps: JobStep[];
  /** Set when QEMU went away with the job alive: milliseconds after the last step (or verb). */
  eofDelayMs: number | undefined;
  /** Commands the recording's client sent between that moment and QEMU going away. */
  eofAfterCommands: number;
  /** The verb the recording's client answered READY with (complete: the graph switched). */
  readyVerb: string | undefined;
  blockJobEntries: RecordedEntry[];
  jobEntries: RecordedEntry[];
  span: JobSpan;
}

const TYPE_OF_COMMAND: Record<string, string> = {
  'block-commit': 'commit',
  'block-stream': 'stream',
  'drive-mirror': 'mirror',
  'blockdev-mirror': 'mirror',
  'drive-backup': 'backup',
  'blockdev-backup': 'backup',
};

/** The verb a job command is (block-job-complete and job-complete are both "complete"). */
export function verbOf(command: string): string | undefined {
  const match = /^(?:block-)?job-(complete|cancel|finalize|dismiss|resume|pause|set-speed|change)$/.exec(command);
  return match?.[1];
}

/** The job a job command names: `device` for block-job-*, `id` for job-*. */
export function jobArgOf(command: string, args: Record<string, unknown> | undefined): string | undefined {
  const value = command.startsWith('block-job-') ? args?.device : args?.id;
  return typeof value === 'string' ? value : undefined;
}

export function isGuestWrite(name: string, args: Record<string, unknown> | undefined): boolean {
  const line = args?.['command-line'];
  return name === 'human-monitor-command' && typeof line === 'string' && /^\s*qemu-io\b.*\b(write|aio_write|writev|zero)\b/.test(line);
}

export function eventJob(event: QmpMessage): string | undefined {
  if (typeof event.event !== 'string' || !isObject(event.data)) return undefined;
  if (/^BLOCK_JOB_/.test(event.event) && event.event !== 'BLOCK_JOB_PENDING') return typeof event.data.device === 'string' ? event.data.device : undefined;
  if (event.event === 'JOB_STATUS_CHANGE' || event.event === 'BLOCK_JOB_PENDING') return typeof event.data.id === 'string' ? event.data.id : undefined;
  return undefined;
}

const isEnd = (event: QmpMessage): boolean => event.event === 'BLOCK_JOB_COMPLETED' || event.event === 'BLOCK_JOB_CANCELLED';
const isGone = (event: QmpMessage): boolean => event.event === 'JOB_STATUS_CHANGE' && isObject(event.data) && event.data.status === 'null';

function extract(
  script: Script,
  creation: Exchange,
  id: string,
  qemuEndT: number | undefined,
): Omit<RecordedJob, 'what' | 'epoch' | 'epochDuring' | 'epochAfter'> {
  const steps: JobStep[] = [];
  const blockJobEntries: RecordedEntry[] = [];
  const jobEntries: RecordedEntry[] = [];
  let anchorT = creation.t;
  let verb: string | undefined;
  let readyVerb: string | undefined;
  let ready = false;
  let writes = 0;
  let type = TYPE_OF_COMMAND[creation.name];
  let end = Infinity;
  let gone = false;
  for (let i = creation.index; i < script.exchanges.length && !gone; i++) {
    const x = script.exchanges[i]!;
    const xVerb = verbOf(x.name);
    const trigger =
      x.index === creation.index ||
      (xVerb !== undefined && WAITING_VERBS.has(xVerb) && jobArgOf(x.name, x.args) === id && x.reply !== undefined && 'return' in x.reply.msg);
    if (x.index !== creation.index && trigger) {
      verb = xVerb;
      anchorT = x.t;
      if (ready && readyVerb === undefined) readyVerb = xVerb;
    }
    if (i > creation.index && isGuestWrite(x.name, x.args)) writes += 1;
    for (const [events, beforeReply] of [
      [x.before, trigger],
      [x.after, false],
    ] as const) {
      for (const { t, msg } of events) {
        if (gone || eventJob(msg) !== id) continue;
        steps.push({ event: msg, delayMs: Math.max(0, (t - anchorT) * 1000), ...(verb ? { after: verb } : {}), beforeReply });
        verb = undefined;
        anchorT = t;
        if (msg.event === 'BLOCK_JOB_READY') ready = true;
        if (isObject(msg.data) && typeof msg.data.type === 'string') type ??= msg.data.type;
        if (isEnd(msg)) end = Math.min(end, t);
        if (isGone(msg)) {
          end = Math.min(end, t);
          gone = true;
        }
      }
    }
    const list = x.reply?.msg.return;
    if (!gone && x.index > creation.index && Array.isArray(list) && (x.name === 'query-block-jobs' || x.name === 'query-jobs')) {
      const key = x.name === 'query-block-jobs' ? 'device' : 'id';
      const entry = list.find((e): e is Record<string, unknown> => isObject(e) && e[key] === id);
      if (entry)
        (x.name === 'query-block-jobs' ? blockJobEntries : jobEntries).push({
          status: String(entry.status ?? (entry.ready ? 'ready' : 'running')),
          writes,
          entry,
        });
    }
  }
  dropDrainBlips(steps);
  const eofDelayMs = !gone && qemuEndT !== undefined ? Math.max(0, (qemuEndT - anchorT) * 1000) : undefined;
  const eofAfterCommands = script.exchanges.filter((x) => x.t > anchorT && x.index !== creation.index).length;
  return {
    id,
    type: type ?? 'unknown',
    command: creation,
    steps,
    eofDelayMs,
    eofAfterCommands,
    readyVerb,
    blockJobEntries,
    jobEntries,
    span: { start: creation.t, end: Math.min(end, qemuEndT ?? Infinity) },
  };
}

const statusOf = (step: JobStep | undefined): unknown =>
  step?.event.event === 'JOB_STATUS_CHANGE' && isObject(step.event.data) ? step.event.data.status : undefined;

/**
 * QEMU 10.0 pauses and resumes running jobs while it drains for another command (a second block-commit,
 * say): paused then running, no verb between. Such a blip belongs to that command, not to the job, so
 * the model leaves it out (its time goes to the next step); a pause that waited for resume stays.
 */
function dropDrainBlips(steps: JobStep[]): void {
  for (let i = 0; i + 1 < steps.length; i++) {
    const [paused, running] = [steps[i]!, steps[i + 1]!];
    if (statusOf(paused) !== 'paused' || statusOf(running) !== 'running' || paused.after || running.after) continue;
    const carried = paused.delayMs + running.delayMs;
    steps.splice(i, 2);
    if (steps[i]) steps[i] = { ...steps[i]!, delayMs: steps[i]!.delayMs + carried };
    i -= 1;
  }
}

/** Every job the transcript's client started, in order. */
export function recordedJobs(script: Script, graphFor: (epochs: Epochs) => RecordedGraph): { jobs: RecordedJob[]; graph: RecordedGraph; epochs: Epochs } {
  // A transaction's job actions are jobs too, each standing as its own command (its reply: the transaction's).
  const partial = script.exchanges
    .filter((x) => x.reply !== undefined && 'return' in x.reply.msg)
    .flatMap((x) => (createsJob(x.name, x.args) ? [x] : transactionJobs(x.name, x.args).map((job): Exchange => ({ ...x, ...job }))))
    .filter((x) => jobNameOf(x.args) !== undefined)
    .map((x) => extract(script, x, jobNameOf(x.args)!, script.qemuEndT));
  const epochs = new Epochs(
    script,
    partial.map((j) => j.span),
  );
  const graph = graphFor(epochs);
  const jobs = partial.map((j) => {
    const epoch = epochs.before(j.span.start);
    return {
      ...j,
      epoch,
      epochDuring: epochs.at(j.span.start),
      epochAfter: epochs.at(j.span.end),
      what: jobWhat(j.command.name, j.command.args, graph.view(epoch)),
    };
  });
  return { jobs, graph, epochs };
}
