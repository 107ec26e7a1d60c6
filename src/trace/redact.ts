/*
 * Secrets QEMU takes over QMP, kept out of traces (unless asked for): traces get shared in bug
 * reports and land in test fixtures. What QEMU really takes inline:
 *   - object-add qom-type=secret: `data` (the secret itself; `file`/`keyid`/`iv` are not secret);
 *     before QEMU 6.0 the properties sat under `props`;
 *   - set_password / change-vnc-password: `password`; any member named *password/*passwd/*passphrase;
 *   - human-monitor-command: `object_add secret,…,data=X`, `set_password PROTOCOL X`, `change vnc password X`.
 * Members such as `key-secret`, `password-secret` or `passwordid` name a secret object: they are ids,
 * not secrets, and stay (replay matching needs them).
 */
import type { QmpMessage } from '../framing.js';

export const REDACTED = '<redacted>';

const SECRET_KEY = /(^|[-_])(password|passwd|passphrase)$/i;

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function redactKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactKeys);
  if (!isObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, member] of Object.entries(value)) out[key] = SECRET_KEY.test(key) && member !== null ? REDACTED : redactKeys(member);
  return out;
}

function redactHmp(line: string): string {
  if (/^\s*object_add\s+secret\b/.test(line)) return line.replace(/\bdata=[^,\s]*/g, `data=${REDACTED}`);
  const setPassword = /^(\s*set_password\s+\S+\s+)(\S+)/.exec(line);
  if (setPassword) return `${setPassword[1]}${REDACTED}${line.slice(setPassword[0].length)}`;
  const change = /^(\s*change\s+vnc\s+password\s+)(\S+)/.exec(line);
  if (change) return `${change[1]}${REDACTED}${line.slice(change[0].length)}`;
  return line;
}

/** The arguments of `command` with every secret replaced by "<redacted>" (the same object when there is none). */
export function redactArguments(command: string, args: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!args) return args;
  let out = redactKeys(args) as Record<string, unknown>;
  if (command === 'object-add') {
    if (args['qom-type'] === 'secret' && 'data' in out) out = { ...out, data: REDACTED };
    if (args['qom-type'] === 'secret' && isObject(out.props) && 'data' in out.props) out = { ...out, props: { ...out.props, data: REDACTED } };
  }
  if (command === 'human-monitor-command' && typeof out['command-line'] === 'string') out = { ...out, 'command-line': redactHmp(out['command-line']) };
  return JSON.stringify(out) === JSON.stringify(args) ? args : out;
}

/** A client → QEMU message with its secrets redacted (the same object when there is none). */
export function redactCommand(message: QmpMessage): QmpMessage {
  const name = message.execute ?? message['exec-oob'];
  if (typeof name !== 'string' || !isObject(message.arguments)) return message;
  const args = redactArguments(name, message.arguments);
  return args === message.arguments ? message : { ...message, arguments: args };
}

/**
 * A command line for a trace header with secrets redacted: `qmp object-add … data=X` and JSON commands
 * given on the command line would otherwise carry the secret into the header.
 */
export function redactCommandLine(words: readonly string[]): string[] {
  return words.map((word) => {
    if (word.trim().startsWith('{')) {
      try {
        const parsed = JSON.parse(word) as unknown;
        if (isObject(parsed) && typeof parsed.execute === 'string') return JSON.stringify(redactCommand(parsed));
      } catch {
        // Not JSON after all: treated as a word below.
      }
    }
    return word
      .replace(/\b(data|password|passwd|passphrase)=[^,\s]*/gi, `$1=${REDACTED}`)
      .replace(/("(?:data|password|passwd|passphrase)"\s*:\s*)"[^"]*"/gi, `$1"${REDACTED}"`);
  });
}
