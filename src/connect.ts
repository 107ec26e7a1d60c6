/*
 * The front of the house: one `connect()` that picks the transport — a UNIX socket, TCP, libvirt
 * through virsh, a socket or stream the caller opened, or a transport of theirs — and speaks QMP
 * over it. Everything below this file knows only the Transport interface.
 */
import type { Duplex } from 'node:stream';
import { QmpClient, type QmpClientOptions } from './protocol/client.js';
import { SocketTransport, type SocketAddress } from './transport/socket.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, type Transport } from './transport/transport.js';
import type { VirshTransportOptions } from './transport/virsh/transport.js';

/**
 * A monitor that accepts a connection but sends no greeting within this long is held by another
 * client (QEMU greets the next one only when the first leaves): MonitorBusyError. It applies to
 * socket connects that give no connectTimeoutMs of their own (a caller that gives one, e.g. right
 * after starting QEMU, waits that long instead); `greetingTimeoutMs` sets it (Infinity: none).
 */
export const DEFAULT_GREETING_TIMEOUT_MS = 1000;

/**
 * Where the monitor is: a socket path, host and port, a libvirt domain, a socket or duplex stream
 * already open (`peer` names it in messages), or a transport of the caller's.
 */
export type ConnectTarget =
  | SocketAddress
  | { socket: Duplex; peer?: string | undefined }
  | { transport: Transport }
  | ({ domain: string } & Omit<VirshTransportOptions, 'domain'>);

/**
 * Connects to a QMP monitor and negotiates capabilities. Socket connects are retried while QEMU
 * starts; `connectTimeoutMs` (default 10 s) bounds the whole sequence. A busy monitor is
 * MonitorBusyError within DEFAULT_GREETING_TIMEOUT_MS unless the caller gave connectTimeoutMs.
 */
export async function connect(target: ConnectTarget, options: QmpClientOptions = {}): Promise<QmpClient> {
  const started = Date.now();
  const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const remaining = (): number => Math.max(1, timeoutMs - (Date.now() - started));
  let transport: Transport;
  let greetingTimeoutMs = options.greetingTimeoutMs;
  if ('transport' in target) transport = target.transport;
  else if ('domain' in target) {
    // The virsh transport loads only when asked for: CLI start-up is part of every command.
    const { VirshTransport } = await import('./transport/virsh/transport.js');
    transport = await VirshTransport.connect({
      ...target,
      connectTimeoutMs: target.connectTimeoutMs ?? timeoutMs,
      ...((target.signal ?? options.signal) ? { signal: target.signal ?? options.signal } : {}),
    });
  } else {
    transport = 'socket' in target ? SocketTransport.fromStream(target.socket, target.peer) : await SocketTransport.connect(target, options);
    if (greetingTimeoutMs === undefined && options.connectTimeoutMs === undefined) greetingTimeoutMs = DEFAULT_GREETING_TIMEOUT_MS;
  }
  return QmpClient.open(transport, { ...options, connectTimeoutMs: remaining(), greetingTimeoutMs });
}
