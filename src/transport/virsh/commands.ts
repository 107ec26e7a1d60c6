/*
 * Running one QMP command through virsh: through the shell when the line is short, else as a
 * one-shot virsh process (readline is slow on long lines).
 */
import type { VirshShell } from './children.js';
import { runVirsh, VirshError, type VirshTarget } from './exec.js';
import { ARGV_WORD_LIMIT, asciiJson, monitorCommandLine, parseReply, SHELL_LINE_LIMIT } from './wire.js';

/** A command through the shell that must succeed at the virsh level (used while connecting). */
export async function shellCommand(shell: VirshShell, uuid: string, message: Record<string, unknown>): Promise<Record<string, unknown>> {
  const outcome = await shell.run(monitorCommandLine(uuid, message));
  if (!outcome.ok)
    throw new VirshError({
      file: 'virsh',
      args: ['qemu-monitor-command', uuid],
      end: { kind: 'exit', code: 1 },
      stderr: outcome.stderr,
      what: 'virsh qemu-monitor-command',
    });
  return parseReply(outcome.output);
}

export type CommandOutcome = { kind: 'reply'; reply: Record<string, unknown> } | { kind: 'virsh-error'; stderr: string };

export async function runCommand(shell: VirshShell, target: VirshTarget, uuid: string, message: Record<string, unknown>): Promise<CommandOutcome> {
  const line = monitorCommandLine(uuid, message);
  if (line.length <= SHELL_LINE_LIMIT) {
    const outcome = await shell.run(line);
    return outcome.ok ? { kind: 'reply', reply: parseReply(outcome.output) } : { kind: 'virsh-error', stderr: outcome.stderr };
  }
  const json = asciiJson(message);
  if (json.length > ARGV_WORD_LIMIT) {
    return {
      kind: 'reply',
      reply: { error: { class: 'GenericError', desc: `command of ${json.length} bytes is too long for virsh (limit ${ARGV_WORD_LIMIT})` } },
    };
  }
  try {
    const { stdout } = await runVirsh(target, ['qemu-monitor-command', '--domain', uuid, '--cmd', json], { timeoutMs: 600_000 });
    return { kind: 'reply', reply: parseReply(stdout) };
  } catch (error) {
    if (error instanceof VirshError) return { kind: 'virsh-error', stderr: error.stderr };
    throw error;
  }
}
