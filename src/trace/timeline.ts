/*
 * A recorded session as a timeline: commands with their latency and outcome, events, each job's
 * status changes, READY and what followed it, progress (offset/len) and speed changes, the guest's
 * writes where the convergence guard sampled them, and the chains the session's own queries showed
 * first and last. Bounded in size whatever the trace's: what a screen cannot show one by one is
 * counted per time bucket (a 100,000-message trace draws as fast as a short one).
 */
import type { QmpMessage } from '../framing.js';
import type { Trace } from './format.js';

/** Items drawn one by one up to this many; beyond, counted per bucket. */
export const MAX_MARKS = 2000;
/** Time buckets across the timeline when aggregated (about one per pixel of a wide screen). */
export const BUCKETS = 1000;
/** Points kept per progress curve. */
export const MAX_POINTS = 1000;
/** Job lanes (and progress curves) drawn one by one; the rest are summed up by outcome. */
export const MAX_LANES = 40;
/** Errors listed one by one; the rest are counted. */
export const MAX_LISTED_ERRORS = 500;

export interface CommandMark {
  t: number;
  name: string;
  latency: number | null;
  error?: string;
  line: number;
}
export interface EventMark {
  t: number;
  name: string;
  line: number;
  job?: string;
  status?: string;
}
export interface JobLane {
  id: string;
  type?: string;
  changes: Array<{ t: number; status: string }>;
  ready?: number;
  /** When job-complete (block-job-complete) or a cancel after READY was sent, and the job's end. */
  completeSent?: number;
  ended?: number;
  outcome?: string;
  /** offset/len samples from query-block-jobs replies and the job's events. */
  progress: Array<{ t: number; offset: number; len: number }>;
  speeds: Array<{ t: number; speed: number }>;
}
export interface ChainView {
  device: string;
  images: string[];
}

export interface Timeline {
  source: string;
  qemu?: string;
  command?: string;
  start: number;
  end: number;
  counts: { messages: number; commands: number; events: number; errors: number };
  /** Every command, when there are at most MAX_MARKS; else undefined and `commandBuckets` says. */
  commands?: CommandMark[];
  events?: EventMark[];
  /** Per bucket of (end - start) / BUCKETS: commands, errors and events counted, the slowest latency. */
  buckets?: Array<{ commands: number; errors: number; events: number; maxLatency: number }>;
  commandStats: Array<{ name: string; count: number; errors: number; medianLatency: number | null; maxLatency: number | null }>;
  eventCounts: Record<string, number>;
  errors: CommandMark[];
  /** The first MAX_LANES jobs; `moreJobs` counts the others by outcome. */
  jobs: JobLane[];
  moreJobs?: { count: number; outcomes: Record<string, number> };
  guestWrites: Array<{ t: number; device: string; bytes: number }>;
  throttles: Array<{ t: number; device: string; bpsWrite: number }>;
  chainBefore: ChainView[];
  chainAfter: ChainView[];
}

function chainsOf(reply: unknown): ChainView[] {
  if (!Array.isArray(reply)) return [];
  return reply.flatMap((block: { device?: string; qdev?: string; inserted?: { image?: unknown } }) => {
    const images: string[] = [];
    let image = block.inserted?.image as { filename?: string; 'backing-image'?: unknown } | undefined;
    while (image && images.length < 1000) {
      images.push(String(image.filename ?? '?'));
      image = image['backing-image'] as typeof image;
    }
    const device = block.qdev?.match(/^\/machine\/peripheral(?:-anon)?\/([^/]+)/)?.[1] ?? block.device ?? '?';
    return images.length ? [{ device: device || '?', images }] : [];
  });
}

function thin<T extends { t: number }>(points: T[], max: number): T[] {
  if (points.length <= max) return points;
  const step = points.length / max;
  const kept: T[] = [];
  for (let i = 0; i < max; i++) kept.push(points[Math.floor(i * step)]!);
  kept.push(points.at(-1)!);
  return kept;
}

function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}

const median = (values: number[]): number | null => {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

export function buildTimeline(trace: Trace, source: string): Timeline {
  const messages = trace.messages;
  const start = messages[0]?.t ?? 0;
  const end = Math.max(start, trace.end?.t ?? messages.at(-1)?.t ?? start);
  const sent = new Map<unknown, { mark: CommandMark; msg: QmpMessage }>();
  const commands: CommandMark[] = [];
  const events: EventMark[] = [];
  const jobs = new Map<string, JobLane>();
  const guestWrites: Timeline['guestWrites'] = [];
  const throttles: Timeline['throttles'] = [];
  let firstChain: ChainView[] | undefined;
  let lastChain: ChainView[] = [];
  const lane = (id: string): JobLane => {
    let job = jobs.get(id);
    if (!job) jobs.set(id, (job = { id, changes: [], progress: [], speeds: [] }));
    return job;
  };
  for (const { t, dir, msg, line } of messages) {
    if (dir === 'out') {
      const name = String(msg.execute ?? msg['exec-oob'] ?? '?');
      const mark: CommandMark = { t, name, latency: null, line };
      commands.push(mark);
      sent.set(msg.id, { mark, msg });
      const args = (msg.arguments ?? {}) as Record<string, unknown>;
      const jobId =
        typeof args['job-id'] === 'string' ? args['job-id'] : typeof args.id === 'string' ? args.id : typeof args.device === 'string' ? args.device : undefined;
      if (typeof args.speed === 'number' && jobId !== undefined && (name === 'block-job-set-speed' || 'job-id' in args))
        lane(jobId).speeds.push({ t, speed: args.speed });
      if (/^(block-)?job-complete$|^(block-)?job-cancel$/.test(name) && jobId !== undefined && jobs.get(jobId)?.ready !== undefined)
        lane(jobId).completeSent ??= t;
      if (name === 'block_set_io_throttle')
        throttles.push({ t, device: String(args.id ?? args.device ?? '?'), bpsWrite: Number(args.bps_wr ?? args.bps ?? 0) });
      continue;
    }
    if ('QMP' in msg) continue;
    if ('event' in msg) {
      const data = (msg.data ?? {}) as Record<string, unknown>;
      const name = String(msg.event);
      const job = typeof data.id === 'string' ? data.id : name.startsWith('BLOCK_JOB') && typeof data.device === 'string' ? data.device : undefined;
      const mark: EventMark = { t, name, line, ...(job !== undefined ? { job } : {}), ...(typeof data.status === 'string' ? { status: data.status } : {}) };
      events.push(mark);
      if (job === undefined) continue;
      const jobLane = lane(job);
      if (typeof data.type === 'string') jobLane.type ??= data.type;
      if (name === 'JOB_STATUS_CHANGE' && typeof data.status === 'string') jobLane.changes.push({ t, status: data.status });
      // READY: whichever of its two events comes first (a client may act on the status change alone).
      if (name === 'BLOCK_JOB_READY' || (name === 'JOB_STATUS_CHANGE' && data.status === 'ready')) jobLane.ready ??= t;
      if (name === 'BLOCK_JOB_COMPLETED' || name === 'BLOCK_JOB_CANCELLED') {
        jobLane.ended = t;
        jobLane.outcome = name === 'BLOCK_JOB_CANCELLED' ? 'cancelled' : typeof data.error === 'string' ? `failed: ${data.error}` : 'completed';
      }
      if (typeof data.offset === 'number' && typeof data.len === 'number') jobLane.progress.push({ t, offset: data.offset, len: data.len });
      continue;
    }
    const request = sent.get(msg.id);
    if (!request) continue;
    sent.delete(msg.id);
    request.mark.latency = t - request.mark.t;
    if ('error' in msg) {
      request.mark.error = `${String((msg.error as { class?: unknown }).class)}: ${String((msg.error as { desc?: unknown }).desc ?? '')}`;
      continue;
    }
    const ret = msg.return;
    if (request.mark.name === 'query-block-jobs' && Array.isArray(ret)) {
      for (const j of ret as Array<{ device: string; offset: number; len: number; speed?: number; type?: string }>) {
        const jobLane = lane(j.device);
        jobLane.type ??= j.type;
        jobLane.progress.push({ t, offset: j.offset, len: j.len });
        const lastSpeed = jobLane.speeds.at(-1)?.speed;
        if (typeof j.speed === 'number' && j.speed !== lastSpeed && !(lastSpeed === undefined && j.speed === 0)) jobLane.speeds.push({ t, speed: j.speed });
      }
    }
    if (request.mark.name === 'query-blockstats' && Array.isArray(ret)) {
      for (const s of ret as Array<{ device?: string; qdev?: string; stats?: { wr_bytes?: number } }>) {
        if (typeof s.stats?.wr_bytes === 'number')
          guestWrites.push({ t, device: s.qdev?.match(/peripheral(?:-anon)?\/([^/]+)/)?.[1] ?? s.device ?? '?', bytes: s.stats.wr_bytes });
      }
    }
    if (request.mark.name === 'query-block') {
      const chains = chainsOf(ret);
      if (chains.length) {
        firstChain ??= chains;
        lastChain = chains;
      }
    }
  }
  const errors = commands.filter((c) => c.error !== undefined);
  const byName = new Map<string, CommandMark[]>();
  for (const c of commands) {
    const list = byName.get(c.name);
    if (list) list.push(c);
    else byName.set(c.name, [c]);
  }
  const eventCounts = countBy(events.map((e) => e.name));
  const many = commands.length + events.length > MAX_MARKS;
  let buckets: Timeline['buckets'];
  if (many) {
    buckets = Array.from({ length: BUCKETS }, () => ({ commands: 0, errors: 0, events: 0, maxLatency: 0 }));
    const at = (t: number): Timeline['buckets'] extends Array<infer B> | undefined ? B : never =>
      buckets![Math.min(BUCKETS - 1, Math.floor(((t - start) / Math.max(end - start, 1e-9)) * BUCKETS))]!;
    for (const c of commands) {
      const b = at(c.t);
      b.commands++;
      if (c.error !== undefined) b.errors++;
      b.maxLatency = Math.max(b.maxLatency, c.latency ?? 0);
    }
    for (const e of events) at(e.t).events++;
  }
  const version = trace.header?.qemu?.qemu;
  const lanes = [...jobs.values()].filter((j) => j.changes.length || j.progress.length);
  return {
    source,
    ...(version ? { qemu: `${version.major}.${version.minor}.${version.micro}` } : {}),
    ...(trace.header?.command ? { command: trace.header.command } : {}),
    start,
    end,
    counts: { messages: messages.length, commands: commands.length, events: events.length, errors: errors.length },
    ...(many ? { buckets } : { commands, events }),
    commandStats: [...byName]
      .map(([name, list]) => {
        const latencies = list.flatMap((c) => (c.latency === null ? [] : [c.latency]));
        return {
          name,
          count: list.length,
          errors: list.filter((c) => c.error !== undefined).length,
          medianLatency: median(latencies),
          maxLatency: latencies.length ? Math.max(...latencies) : null,
        };
      })
      .sort((x, y) => y.count - x.count),
    eventCounts,
    errors: errors.slice(0, MAX_LISTED_ERRORS),
    jobs: lanes
      .slice(0, MAX_LANES)
      .map((j) => ({ ...j, changes: thin(j.changes, MAX_POINTS), progress: thin(j.progress, MAX_POINTS), speeds: thin(j.speeds, MAX_POINTS) })),
    ...(lanes.length > MAX_LANES
      ? { moreJobs: { count: lanes.length - MAX_LANES, outcomes: countBy(lanes.slice(MAX_LANES).map((j) => j.outcome ?? 'not ended')) } }
      : {}),
    guestWrites: thin(guestWrites, MAX_POINTS),
    throttles: thin(throttles, MAX_POINTS),
    chainBefore: firstChain ?? [],
    chainAfter: lastChain,
  };
}
