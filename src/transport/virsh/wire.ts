/*
 * The virsh transport's wire format: how one QMP command becomes a `virsh qemu-monitor-command`
 * line, how its output becomes a QMP reply again, and how a `qemu-monitor-event` line becomes a
 * QMP event with QEMU's own timestamp.
 */
import { ProtocolError } from '../../errors.js';
import { isJsonObject } from '../../util/json.js';

/**
 * Longest command line sent through the shell. readline redraws as it reads, ~10 µs per character
 * (measured: 1 KB 18 ms, 8 KB 80 ms, 1 MB ~7 s), so past ~4 KB a one-shot virsh process (~25-45 ms)
 * is faster. Typical QMP commands are 50-500 bytes.
 */
export const SHELL_LINE_LIMIT = 4 * 1024;
/** Linux MAX_ARG_STRLEN (32 pages) bounds one argv word for the one-shot fallback. */
export const ARGV_WORD_LIMIT = 128 * 1024 - 1;

/**
 * The shell line for one command. The UUID is hex and dashes; the JSON is made pure ASCII
 * (\uXXXX for the rest) so readline echoes it byte for byte, and single-quoted by virsh's rules
 * (as in sh: no escapes inside '…', a quote is written '\'' ).
 */
export function monitorCommandLine(uuid: string, message: Record<string, unknown>): string {
  return `qemu-monitor-command --domain ${uuid} --cmd ${singleQuote(asciiJson(message))}\n`;
}

export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function singleQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export function parseReply(output: string): Record<string, unknown> {
  const text = output.trim();
  let reply: unknown;
  try {
    reply = JSON.parse(text);
  } catch (error) {
    throw new ProtocolError(`virsh printed something that is not a QMP reply: ${text.slice(0, 200)}`, { cause: error });
  }
  if (!isJsonObject(reply) || !('return' in reply || 'error' in reply)) {
    throw new ProtocolError(`virsh printed something that is not a QMP reply: ${text.slice(0, 200)}`);
  }
  return reply as Record<string, unknown>;
}

export interface ParsedEventLine extends Record<string, unknown> {
  event: string;
  data?: Record<string, unknown>;
  timestamp: { seconds: number; microseconds: number };
}

/**
 * Parses one line of `virsh qemu-monitor-event` (without --timestamp, whose libvirt-local
 * millisecond time would replace QEMU's own microsecond timestamp):
 *   event NAME at SECONDS.MICROSECONDS for domain 'DOMAIN': {json}|<null>
 * Knowing the domain's name makes the split exact even when the name contains "': ".
 * Returns undefined for lines that are not events.
 */
export function parseEventLine(line: string, domainName: string): ParsedEventLine | undefined {
  const head = /^event (\S+) at (\d+)\.(\d{1,6}) for domain '/.exec(line);
  if (!head) return undefined;
  const rest = line.slice(head[0].length);
  const nameEnd = `${domainName}': `;
  if (!rest.startsWith(nameEnd)) return undefined;
  const payload = rest.slice(nameEnd.length).trim();
  const timestamp = { seconds: Number(head[2]), microseconds: Number((head[3] ?? '0').padEnd(6, '0')) };
  if (payload === '<null>') return { event: head[1] ?? '', timestamp };
  let data: unknown;
  try {
    data = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (!isJsonObject(data)) return undefined;
  return { event: head[1] ?? '', data: data as Record<string, unknown>, timestamp };
}
