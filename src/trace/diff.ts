/*
 * Comparing two recorded sessions (the same scenario on two QEMUs, or by two clients): each trace
 * becomes a sequence of steps — commands with their arguments, replies (ok or the error class),
 * events with the members that say what happened — with what differs by nature taken out: message
 * ids, timestamps, QEMU's automatic node names (#blockNNN), job ids (numbered by first use) and the
 * folders of file names. A command's reply is placed right after it, before the events that came
 * while it ran: which of the two QEMU writes first is a race, not a difference (and so is the order
 * in which a client that sends several commands at once reads their replies and the events between).
 */
import type { QmpMessage } from '../framing.js';
import type { Trace } from './format.js';

export interface NormalisedStep {
  /** 1-based line of the message in its trace file. */
  line: number;
  /** `→ command {args}`, `← ok`, `← error Class`, `← event NAME {data}`. */
  text: string;
  kind: 'command' | 'reply' | 'error' | 'event';
}

export type TraceDifference =
  | { op: 'changed'; a: NormalisedStep; b: NormalisedStep }
  | { op: 'only-a'; a: NormalisedStep }
  | { op: 'only-b'; b: NormalisedStep };

/** Members of event data that say what happened (the rest — offsets, lengths, speeds — vary run to run). */
const EVENT_MEMBERS = ['status', 'type', 'action', 'operation', 'reason', 'error', 'boundaries'];
/** Argument members whose value is a job id. */
const JOB_ID_MEMBERS = new Set(['job-id', 'id', 'device']);

class Normaliser {
  private readonly jobs = new Map<string, string>();

  job(id: string): string {
    let name = this.jobs.get(id);
    if (!name) this.jobs.set(id, (name = `job${this.jobs.size + 1}`));
    return name;
  }

  knowsJob(id: string): boolean {
    return this.jobs.has(id);
  }

  value(value: unknown, key?: string): unknown {
    if (typeof value === 'string') {
      if (key !== undefined && JOB_ID_MEMBERS.has(key) && (key === 'job-id' || this.knowsJob(value))) return this.job(value);
      if (/^#block\d+$/.test(value)) return '#block';
      // A file name: only its last part (each recording has its own temporary folder).
      if (value.startsWith('/')) return value.slice(value.lastIndexOf('/') + 1);
      return value;
    }
    if (Array.isArray(value)) return value.map((v) => this.value(v));
    if (value !== null && typeof value === 'object') {
      const entries = Object.entries(value as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
      return Object.fromEntries(entries.map(([k, v]) => [k, this.value(v, k)]));
    }
    return value;
  }
}

function compact(value: unknown): string {
  return JSON.stringify(value).replace(/"([a-z][\w-]*)":/gi, '$1:');
}

/** The trace as normalised steps, in the order described above. */
export function normaliseTrace(trace: Trace): NormalisedStep[] {
  const n = new Normaliser();
  // Each command with its reply right after it (pipelined commands are answered in order anyway).
  const items: Array<{ step: NormalisedStep; reply?: NormalisedStep }> = [];
  const pending = new Map<unknown, { step: NormalisedStep; reply?: NormalisedStep }>();
  // Events that came while commands waited for replies: placed after the last of those replies.
  let held: NormalisedStep[] = [];
  const eventStep = (msg: QmpMessage, line: number): NormalisedStep => {
    const data = (msg.data ?? {}) as Record<string, unknown>;
    const kept: Record<string, unknown> = {};
    for (const key of EVENT_MEMBERS) if (key in data) kept[key] = n.value(data[key], key);
    const job = typeof data.id === 'string' ? data.id : typeof data.device === 'string' && typeof data.type === 'string' ? data.device : undefined;
    if (job !== undefined) kept.job = n.job(job);
    return { line, kind: 'event', text: `← event ${String(msg.event)}${Object.keys(kept).length ? ` ${compact(n.value(kept))}` : ''}` };
  };
  for (const { msg, dir, line } of trace.messages) {
    if (dir === 'in' && 'QMP' in msg) continue;
    if (dir === 'out') {
      const name = String(msg.execute ?? msg['exec-oob'] ?? '?');
      const args = msg.arguments as Record<string, unknown> | undefined;
      const item = { step: { line, kind: 'command' as const, text: `→ ${name}${args && Object.keys(args).length ? ` ${compact(n.value(args))}` : ''}` } };
      items.push(item);
      pending.set(msg.id, item);
      continue;
    }
    if ('event' in msg) {
      const step = eventStep(msg, line);
      if (pending.size) held.push(step);
      else items.push({ step });
      continue;
    }
    const reply: NormalisedStep =
      'error' in msg
        ? { line, kind: 'error', text: `← error ${String((msg.error as { class?: unknown } | undefined)?.class ?? '?')}` }
        : { line, kind: 'reply', text: '← ok' };
    const item = pending.get(msg.id);
    if (item) {
      item.reply = reply;
      pending.delete(msg.id);
    } else {
      items.push({ step: reply });
    }
    if (!pending.size) {
      items.push(...held.map((step) => ({ step })));
      held = [];
    }
  }
  items.push(...held.map((step) => ({ step })));
  return items.flatMap((item) => (item.reply ? [item.step, item.reply] : [item.step]));
}

/** Longest common subsequence of the two step lists, as an edit script (Myers' O((N+M)D) algorithm). */
function editScript(a: readonly string[], b: readonly string[]): Array<'=' | '-' | '+'> {
  const max = a.length + b.length;
  const v = new Map<number, number>([[1, 0]]);
  const trace: Array<Map<number, number>> = [];
  outer: for (let d = 0; d <= max; d++) {
    trace.push(new Map(v));
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && (v.get(k - 1) ?? -1) < (v.get(k + 1) ?? -1)) ? (v.get(k + 1) ?? 0) : (v.get(k - 1) ?? 0) + 1;
      let y = x - k;
      while (x < a.length && y < b.length && a[x] === b[y]) {
        x++;
        y++;
      }
      v.set(k, x);
      if (x >= a.length && y >= b.length) break outer;
    }
  }
  const ops: Array<'=' | '-' | '+'> = [];
  let x = a.length;
  let y = b.length;
  for (let d = trace.length - 1; d >= 0; d--) {
    const vd = trace[d]!;
    const k = x - y;
    const prevK = k === -d || (k !== d && (vd.get(k - 1) ?? -1) < (vd.get(k + 1) ?? -1)) ? k + 1 : k - 1;
    const prevX = vd.get(prevK) ?? 0;
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      ops.push('=');
      x--;
      y--;
    }
    if (d > 0) ops.push(x === prevX ? '+' : '-');
    x = prevX;
    y = prevY;
  }
  return ops.reverse();
}

export interface TraceComparison {
  a: NormalisedStep[];
  b: NormalisedStep[];
  /** Every row in order: equal steps and differences (a run of removals beside a run of insertions pairs up as changes). */
  rows: Array<{ op: 'same'; a: NormalisedStep; b: NormalisedStep } | TraceDifference>;
  differences: TraceDifference[];
}

type Row = TraceComparison['rows'][number];

/** The rows of one stream's edit script (a run of removals beside a run of insertions pairs up as changes). */
function streamRows(a: readonly NormalisedStep[], b: readonly NormalisedStep[]): Row[] {
  const ops = editScript(
    a.map((s) => s.text),
    b.map((s) => s.text),
  );
  const rows: Row[] = [];
  let i = 0;
  let j = 0;
  for (let p = 0; p < ops.length; ) {
    if (ops[p] === '=') {
      rows.push({ op: 'same', a: a[i++]!, b: b[j++]! });
      p++;
      continue;
    }
    const removed: NormalisedStep[] = [];
    const added: NormalisedStep[] = [];
    while (p < ops.length && ops[p] !== '=') {
      if (ops[p] === '-') removed.push(a[i++]!);
      else added.push(b[j++]!);
      p++;
    }
    for (let q = 0; q < Math.max(removed.length, added.length); q++) {
      const x = removed[q];
      const y = added[q];
      rows.push(x && y ? { op: 'changed', a: x, b: y } : x ? { op: 'only-a', a: x } : { op: 'only-b', b: y! });
    }
  }
  return rows;
}

/**
 * Commands (with their replies) and events are compared as two sequences: where an event falls
 * between a client's commands is a race between QEMU and the client (a client that acts on
 * JOB_STATUS_CHANGE "ready" may send its next command before BLOCK_JOB_READY arrives), not a
 * difference. The rows are then merged back in A's order (B's where a row has no A side).
 */
export function compareTraces(traceA: Trace, traceB: Trace): TraceComparison {
  const a = normaliseTrace(traceA);
  const b = normaliseTrace(traceB);
  const isEvent = (s: NormalisedStep): boolean => s.kind === 'event';
  const streams = [
    streamRows(
      a.filter((s) => !isEvent(s)),
      b.filter((s) => !isEvent(s)),
    ),
    streamRows(a.filter(isEvent), b.filter(isEvent)),
  ];
  // Each row's place: its A step's position, else just after the row before it in its own stream.
  const position = new Map<NormalisedStep, number>(a.map((s, i) => [s, i]));
  const positionB = new Map<NormalisedStep, number>(b.map((s, i) => [s, i]));
  const keyed = streams.flatMap((rows) => {
    let last = -1;
    return rows.map((row) => {
      const key = 'a' in row ? position.get(row.a)! : last + 0.5;
      if ('a' in row) last = key;
      return { row, key, tie: 'b' in row ? positionB.get(row.b)! : -1 };
    });
  });
  keyed.sort((x, y) => x.key - y.key || x.tie - y.tie);
  const rows = keyed.map((k) => k.row);
  return { a, b, rows, differences: rows.filter((r): r is TraceDifference => r.op !== 'same') };
}

/** Side by side: `line step │ line step`, `|` where they differ, `<` only in A, `>` only in B. */
export function renderComparison(comparison: TraceComparison, labels: { a: string; b: string }, columns = 160): string[] {
  const width = Math.max(30, Math.floor((columns - 3) / 2));
  const cell = (step: NormalisedStep | undefined): string => {
    const text = step ? `${String(step.line).padStart(4)} ${step.text}` : '';
    return (text.length > width ? `${text.slice(0, width - 1)}…` : text).padEnd(width);
  };
  const mark = { same: ' ', changed: '|', 'only-a': '<', 'only-b': '>' } as const;
  const lines = [`${`A: ${labels.a}`.slice(0, width).padEnd(width)} │ B: ${labels.b}`];
  for (const row of comparison.rows) {
    const a = 'a' in row ? row.a : undefined;
    const b = 'b' in row ? row.b : undefined;
    lines.push(`${cell(a)}${mark[row.op]}│ ${cell(b)}`.trimEnd());
  }
  const n = comparison.differences.length;
  lines.push(n ? `${n} difference${n === 1 ? '' : 's'} (| changed, < only in A, > only in B)` : 'same sequence of commands, replies and events');
  return lines;
}
