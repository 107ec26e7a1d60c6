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

/*
 * The event child's readiness notice. virsh prints nothing once `qemu-monitor-event` has registered
 * its callback, but libvirt's client library logs every RPC reply it receives when asked to
 * (LIBVIRT_LOG_OUTPUTS / LIBVIRT_LOG_FILTERS below, for the event child only): the reply to
 * QEMU_PROC_CONNECT_DOMAIN_MONITOR_EVENT_REGISTER (program 0x20008087, procedure 4, type 1 = reply,
 * status 0 = success) means libvirtd has registered the callback, so every QEMU event after it is
 * delivered. Program and procedure numbers are libvirt's wire protocol, fixed for good; the line is
 * libvirt's RPC_CLIENT_MSG_RX probe, the same in libvirt 9.0 and 11.3 (test/unit fixtures).
 */
export const EVENT_CHILD_LOG_ENV: Readonly<Record<string, string>> = {
  LIBVIRT_LOG_OUTPUTS: '2:stderr',
  LIBVIRT_LOG_FILTERS: '2:rpc.netclient',
};
const QEMU_PROGRAM = 0x20008087;
const MONITOR_EVENT_REGISTER = 4;
/** libvirt's log line prefix: `2026-12-01 10:29:07.568+0000: 18054: info : ` */
const LOG_LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}[+-]\d{4}: \d+: (?:debug|info|warning|error) : /;

export type EventChildStderrLine = { kind: 'registered' } | { kind: 'log' } | { kind: 'virsh'; text: string };

/** Sorts one stderr line of the event child: the registration notice, other libvirt log lines, or virsh's own words. */
export function classifyEventChildStderr(line: string): EventChildStderrLine {
  if (!LOG_LINE.test(line)) return { kind: 'virsh', text: line };
  const rx = / RPC_CLIENT_MSG_RX: .*\bprog=(\d+) vers=\d+ proc=(\d+) type=(\d+) status=(\d+)\b/.exec(line);
  if (rx && Number(rx[1]) === QEMU_PROGRAM && Number(rx[2]) === MONITOR_EVENT_REGISTER && rx[3] === '1' && rx[4] === '0') return { kind: 'registered' };
  return { kind: 'log' };
}
