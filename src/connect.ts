/*
 * The front of the house: one `connect()` that picks the transport — a UNIX socket, TCP, libvirt
 * through virsh, or one the caller opened — and speaks QMP over it. Everything below this file
 * knows only the Transport interface (as nats.js registers node:net from transport-node/connect.ts).
 */
import { QmpClient, type QmpClientOptions } from './protocol/client.js';
import { SocketTransport, type SocketAddress } from './transport/socket.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, type Transport } from './transport/transport.js';
import type { VirshTransportOptions } from './transport/virsh/transport.js';

/** Where the monitor is: a socket path, host and port, a libvirt domain, or an open transport. */
export type ConnectTarget = SocketAddress | { transport: Transport } | ({ domain: string } & Omit<VirshTransportOptions, 'domain'>);

/**
 * Connects to a QMP monitor and negotiates capabilities. Socket connects are retried while QEMU
 * starts; `connectTimeoutMs` (default 10 s) bounds the whole sequence.
 */
export async function connect(target: ConnectTarget, options: QmpClientOptions = {}): Promise<QmpClient> {
  const started = Date.now();
  const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const remaining = (): number => Math.max(1, timeoutMs - (Date.now() - started));
  let transport: Transport;
  if ('transport' in target) transport = target.transport;
  else if ('domain' in target) {
    // The virsh transport loads only when asked for: CLI start-up is part of every command.
    const { VirshTransport } = await import('./transport/virsh/transport.js');
    transport = await VirshTransport.connect({ ...target, connectTimeoutMs: target.connectTimeoutMs ?? timeoutMs, ...(target.signal ?? options.signal ? { signal: target.signal ?? options.signal } : {}) });
  } else transport = await SocketTransport.connect(target, options);
  return QmpClient.open(transport, { ...options, connectTimeoutMs: remaining() });
}
