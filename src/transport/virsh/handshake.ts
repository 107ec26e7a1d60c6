/*
 * The steps of connecting to a libvirt domain before any client command: find the domain, and
 * prove that the event stream delivers.
 */
import { randomBytes } from 'node:crypto';
import { ConnectError, ProtocolError, QmpTimeoutError } from '../../errors.js';
import type { VirshEventStream, VirshShell } from './children.js';
import { oneLine, runVirsh, type VirshTarget } from './exec.js';
import { shellCommand } from './commands.js';

/** How long one probe round waits for its event before it triggers the next one. */
const PROBE_ROUND_MS = 250;
/**
 * How long the event child's registration notice (wire.ts) is waited for before probing without it,
 * round after round as for a libvirt that does not log it. Once the notice came the first round's
 * event is certain, so that round waits up to CONFIRMED_ROUND_MS before it is counted as lost.
 */
const REGISTRATION_NOTICE_MS = 1000;
const CONFIRMED_ROUND_MS = 2000;

export async function lookUpDomain(
  target: VirshTarget,
  domain: string,
  wait: { timeoutMs: number; signal: AbortSignal },
): Promise<{ name: string; uuid: string }> {
  const { stdout } = await runVirsh(target, ['dominfo', '--domain', domain], wait);
  // dominfo: "Name:           vm1" / "UUID:           …" / "State:          running" (LC_ALL=C).
  const field = (key: string): string | undefined => stdout.match(new RegExp(`^${key}:[ \\t]+(.*)$`, 'm'))?.[1];
  const name = field('Name');
  const uuid = field('UUID');
  const state = field('State');
  if (name === undefined || uuid === undefined || !/^[0-9a-f-]{36}$/i.test(uuid)) {
    throw new ProtocolError(`cannot read the domain's name and UUID from virsh dominfo: ${oneLine(stdout)}`);
  }
  if (state !== 'running' && state !== 'paused') {
    throw new ConnectError(`libvirt domain ${JSON.stringify(domain)}`, `the domain is ${state ?? 'in an unknown state'}, not running`);
  }
  return { name, uuid };
}

/**
 * Proves that the event stream delivers before any client command is sent: we make QEMU emit an
 * event of our own and wait for it, a BLOCK_WRITE_THRESHOLD on a private 4 KiB null-co node (writes
 * are discarded; the node is attached to nothing the guest or libvirt uses, and libvirt ignores
 * threshold events for nodes it does not know). virsh prints nothing once its callback is
 * registered, and an event QEMU emits before that is lost; so the first round is triggered only
 * when libvirt's own log says the registration is done (VirshEventStream.waitForRegistration), and
 * one round is enough. Without that notice rounds are re-armed every PROBE_ROUND_MS until the event
 * arrives. The node is deleted afterwards and its events are never delivered.
 */
export async function proveEventsFlow(
  shell: VirshShell,
  events: VirshEventStream,
  uuid: string,
  wait: { timeoutMs: number; signal: AbortSignal },
): Promise<{ rounds: number }> {
  const node = `qbj-probe-${randomBytes(6).toString('hex')}`;
  events.hiddenNodes.add(node);
  const must = async (message: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const reply = await shellCommand(shell, uuid, message);
    if ('error' in reply) throw new ProtocolError(`event probe: ${String(message.execute)} failed: ${JSON.stringify(reply.error)}`);
    return reply;
  };
  const stop = wait.signal;
  const registered = events.waitForRegistration(REGISTRATION_NOTICE_MS, stop);
  await must({ execute: 'blockdev-add', arguments: { driver: 'null-co', 'node-name': node, size: 4096 } });
  try {
    let rounds = 0;
    let roundMs = (await registered) ? CONFIRMED_ROUND_MS : PROBE_ROUND_MS;
    while (!stop.aborted) {
      rounds++;
      const seen = events.waitForProbe(node, roundMs, stop);
      roundMs = PROBE_ROUND_MS;
      await must({ execute: 'block-set-write-threshold', arguments: { 'node-name': node, 'write-threshold': 1 } });
      await must({ execute: 'human-monitor-command', arguments: { 'command-line': `qemu-io ${node} "write -q 0 512"` } });
      if (await seen) return { rounds };
      events.throwIfDead();
    }
    throw stop.reason instanceof Error ? stop.reason : new QmpTimeoutError('waiting for the event stream', wait.timeoutMs);
  } finally {
    // Not waited for: the shell runs it before anything sent after it, so connect need not pay its round trip.
    void shellCommand(shell, uuid, { execute: 'blockdev-del', arguments: { 'node-name': node } }).catch(() => undefined);
  }
}
