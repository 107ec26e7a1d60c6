/*
 * Job names in a replay: a trace recorded with `job-id: "commit-job"` replays for a client that names
 * its job otherwise (docs/trace-format.md, "Job names").
 */
import type { QmpMessage } from '../src/framing.js';
import { isJsonObject as isObject } from '../src/util/json.js';

export const JOB_CREATING = new Set(['block-commit', 'block-stream', 'drive-mirror', 'blockdev-mirror', 'drive-backup', 'blockdev-backup']);
export const JOB_COMMANDS = new Set([
  'block-job-complete',
  'block-job-cancel',
  'block-job-pause',
  'block-job-resume',
  'block-job-set-speed',
  'block-job-finalize',
  'block-job-dismiss',
  'block-job-change',
  'job-complete',
  'job-cancel',
  'job-pause',
  'job-resume',
  'job-finalize',
  'job-dismiss',
]);

export function createsJob(name: string, args: Record<string, unknown> | undefined): boolean {
  return JOB_CREATING.has(name) || (args !== undefined && 'job-id' in args);
}

/** A transaction's job-creating actions (blockdev-backup …), each as the command it stands for. */
export function transactionJobs(name: string, args: Record<string, unknown> | undefined): Array<{ name: string; args: Record<string, unknown> }> {
  if (name !== 'transaction' || !Array.isArray(args?.actions)) return [];
  return args.actions.flatMap((a) =>
    isObject(a) && typeof a.type === 'string' && JOB_CREATING.has(a.type) && isObject(a.data) ? [{ name: a.type, args: a.data }] : [],
  );
}

/** A transaction's arguments with its actions' job ids left out: the same transaction under other job names. */
export function withoutActionJobIds(args: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!Array.isArray(args?.actions)) return args;
  const actions = args.actions.map((a) => (isObject(a) && isObject(a.data) ? { ...a, data: { ...a.data, 'job-id': undefined } } : a));
  return { ...args, actions };
}

/** The name QEMU gives the job a command creates: its job-id, or the device when there is none. */
export function jobNameOf(args: Record<string, unknown> | undefined): string | undefined {
  const name = args?.['job-id'] ?? args?.device;
  return typeof name === 'string' ? name : undefined;
}

/** The client's job names for the recorded ones, learnt when a job-creating command is matched. */
export class JobNames {
  private readonly toClient = new Map<string, string>();
  private readonly toRecorded = new Map<string, string>();

  learn(recorded: string | undefined, client: string | undefined): void {
    if (!recorded || !client || recorded === client) return;
    this.toClient.set(recorded, client);
    this.toRecorded.set(client, recorded);
  }

  mapIn(name: string, args: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
    if (!args || !JOB_COMMANDS.has(name)) return args;
    const mapped = { ...args };
    for (const key of ['device', 'id']) {
      const value = mapped[key];
      if (typeof value === 'string' && this.toRecorded.has(value)) mapped[key] = this.toRecorded.get(value);
    }
    return mapped;
  }

  /** Renames recorded jobs to the client's names in an event or a reply. */
  mapOut(message: QmpMessage, command: string | undefined): QmpMessage {
    if (this.toClient.size === 0) return message;
    const rename = (value: unknown): unknown => (typeof value === 'string' ? (this.toClient.get(value) ?? value) : value);
    const renameJob = (entry: unknown): unknown =>
      isObject(entry)
        ? { ...entry, ...('id' in entry ? { id: rename(entry.id) } : {}), ...('device' in entry ? { device: rename(entry.device) } : {}) }
        : entry;
    if (typeof message.event === 'string' && /^(BLOCK_)?JOB_/.test(message.event)) {
      return { ...message, data: renameJob(message.data) };
    }
    if (command === 'query-jobs' || command === 'query-block-jobs') {
      if (Array.isArray(message.return)) return { ...message, return: message.return.map(renameJob) };
    }
    if (isObject(message.error) && typeof message.error.desc === 'string') {
      let desc = message.error.desc;
      for (const [recorded, client] of this.toClient) desc = desc.split(`'${recorded}'`).join(`'${client}'`);
      return { ...message, error: { ...message.error, desc } };
    }
    return message;
  }
}
