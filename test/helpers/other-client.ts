// A transcript's commands as a client other than its recorder sends them: its own job ids, and the
// job-* verbs where the recorder sent an accepted block-job-* one (QEMU 11.1 refuses the deprecated ones).
import { createsJob } from '../../mock-qmp/job-names.js';
import type { Trace } from '../../mock-qmp/index.js';

const TWINS = /^block-job-(complete|cancel|pause|resume|finalize|dismiss)$/;

/** The recorder's job ids (only those it chose: a job named after its device keeps that name). */
export function recordedJobIds(trace: Trace): string[] {
  return trace.messages.flatMap((m) => {
    const args = m.msg.arguments as Record<string, unknown> | undefined;
    return m.dir === 'out' && typeof m.msg.execute === 'string' && createsJob(m.msg.execute, args) && typeof args?.['job-id'] === 'string'
      ? [args['job-id']]
      : [];
  });
}

/** The recorded command as the other client sends it: job-X for an accepted block-job-X (device → id). */
export function asOtherClient(command: Record<string, unknown>, accepted: boolean): Record<string, unknown> {
  const verb = typeof command.execute === 'string' ? TWINS.exec(command.execute)?.[1] : undefined;
  const args = command.arguments as Record<string, unknown> | undefined;
  if (!verb || !accepted || args?.force === true) return command;
  const { device, ...rest } = args ?? {};
  return { execute: `job-${verb}`, arguments: { ...rest, id: device } };
}
