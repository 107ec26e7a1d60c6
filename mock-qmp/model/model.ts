/*
 * A transcript turned into a model of what its QEMU had (docs/trace-format.md, "Model"): the block graph
 * in epochs, the jobs with their recorded steps, the replies of everything else, and introspection.
 * Built once per server; each connection runs its own copy of the state (model/session.ts).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { readTrace, type Trace } from '../trace.js';
import { compile, type Exchange, type Script } from '../script.js';
import { RecordedGraph, type Epochs } from './graph.js';
import { recordedJobs, type RecordedJob } from './jobs.js';
import { introspection, type Introspection } from './schema.js';
import { recordedSnapshots, type RecordedSnapshot } from './snapshots.js';
import { JOB_COMMANDS, JOB_CREATING } from '../job-names.js';

/** Commands the model answers itself, whatever the transcript recorded for them. */
export const MODELLED = [
  'qmp_capabilities',
  'query-commands',
  'query-qmp-schema',
  'query-jobs',
  'query-block-jobs',
  'query-block',
  'query-named-block-nodes',
  'x-debug-query-block-graph',
  ...JOB_CREATING,
  ...JOB_COMMANDS,
];

export interface TranscriptModel {
  source: string;
  script: Script;
  graph: RecordedGraph;
  epochs: Epochs;
  jobs: RecordedJob[];
  /** The snapshots the recording took, for a client's own (snapshots.ts). */
  snapshots: RecordedSnapshot[];
  introspection: Introspection;
  /** Recorded exchanges by command name, for commands the model does not model. */
  byName: Map<string, Exchange[]>;
  /**
   * The recording's QEMU ran with `-compat deprecated-input=reject` (read from the header's command
   * line): a command its schema marks deprecated is refused as that QEMU refuses it.
   */
  rejectsDeprecatedInput: boolean;
  /** QEMU went away at the end, with no job alive to carry the moment. */
  eofAfterCommands: { commands: number; delayMs: number } | undefined;
}

export function buildModel(trace: Trace, script: Script, schema: Trace | undefined): TranscriptModel {
  const { jobs, graph, epochs } = recordedJobs(script, (at) => new RecordedGraph(script, at));
  const byName = new Map<string, Exchange[]>();
  for (const x of script.exchanges) if (x.reply) byName.set(x.name, [...(byName.get(x.name) ?? []), x]);
  const last = script.exchanges[script.exchanges.length - 1];
  const eofAfterCommands =
    script.qemuEndT !== undefined && !jobs.some((j) => j.eofDelayMs !== undefined)
      ? { commands: script.exchanges.length, delayMs: Math.max(0, (script.qemuEndT - (last?.reply?.t ?? last?.t ?? 0)) * 1000) }
      : undefined;
  return {
    source: trace.source,
    script,
    graph,
    epochs,
    jobs,
    snapshots: recordedSnapshots(script, epochs, graph),
    introspection: introspection(script, schema ? compile(schema) : undefined, MODELLED),
    byName,
    eofAfterCommands,
    rejectsDeprecatedInput: compatOf(trace.header?.command).includes('deprecated-input=reject'),
  };
}

/**
 * The schema a model refuses deprecated commands by, when the caller gave none: a trace recorded under
 * `-compat deprecated-input=reject` takes its set's `schema.jsonl` (record-fixtures' schema scenario,
 * same QEMU, same policy), found beside the trace or one folder up (raw/). Undefined otherwise.
 */
export function policySchemaBeside(trace: Trace): Trace | undefined {
  if (!compatOf(trace.header?.command).includes('deprecated-input=reject') || !existsSync(trace.source)) return undefined;
  const dir = path.dirname(trace.source);
  for (const candidate of [path.join(dir, 'schema.jsonl'), path.join(dir, '..', 'schema.jsonl')]) {
    if (path.resolve(candidate) !== path.resolve(trace.source) && existsSync(candidate)) return readTrace(candidate);
  }
  return undefined;
}

/** The `-compat` policy on a recorded QEMU command line, split at commas ([] when there is none). */
export function compatOf(command: string | undefined): string[] {
  const match = /(?:^|\s)-compat\s+(\S+)/.exec(command ?? '');
  return match ? match[1]!.split(',') : [];
}
