/*
 * job-X and block-job-X (complete, pause, resume, finalize, dismiss) do the same thing to a job:
 * QEMU 10.1 deprecated block-job-X for job-X. A replay of a transcript recorded with one answers
 * the other as that QEMU would: the command taken as its twin, and "no such job" in the class the
 * client's command gets on QEMU (block-job-*: DeviceNotActive "Block job 'x' not found", job-*:
 * GenericError "Job not found"; measured on 7.2 and 11.1). Every other reply is the same for both.
 */
import type { QmpMessage } from '../src/framing.js';
import { isJsonObject as isObject } from '../src/util/json.js';

const TWIN = /^(block-)?job-(complete|pause|resume|finalize|dismiss)$/;

/** The twin of a job verb command (job-complete ↔ block-job-complete), or undefined. */
export function twinOf(name: string): string | undefined {
  const match = TWIN.exec(name);
  if (!match) return undefined;
  return match[1] ? `job-${match[2]}` : `block-job-${match[2]}`;
}

/** `args` spelled for the twin: job-* names the job by `id`, block-job-* by `device`. */
export function twinArguments(twin: string, args: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!args) return args;
  const [from, to] = twin.startsWith('block-') ? ['id', 'device'] : ['device', 'id'];
  const { [from]: job, ...rest } = args;
  return job === undefined ? rest : { ...rest, [to]: job };
}

/** A reply recorded for the twin, as QEMU gives it to `name`: only "no such job" differs. */
export function twinReply(name: string, body: QmpMessage, job: unknown): QmpMessage {
  const error = body.error;
  if (!isObject(error)) return body;
  const notFound = error.class === 'DeviceNotActive' || (error.class === 'GenericError' && error.desc === 'Job not found');
  if (!notFound) return body;
  return name.startsWith('block-job-')
    ? { ...body, error: { class: 'DeviceNotActive', desc: `Block job '${String(job)}' not found` } }
    : { ...body, error: { class: 'GenericError', desc: 'Job not found' } };
}
