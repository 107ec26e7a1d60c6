// The options, states and events of QmpClient (client.ts), which re-exports them.
import type { QmpMessage } from '../framing.js';
import type { QmpError } from '../errors.js';
import type { QmpEvent } from '../qapi/types.js';
import type { ConnectOptions } from '../transport/transport.js';
import type { WaitOptions } from '../util/wait.js';

export enum ConnectionState {
  /** Transport open, waiting for QEMU's greeting. */
  Greeting = 'greeting',
  /** Greeting received, qmp_capabilities in flight. */
  Negotiating = 'negotiating',
  /** Commands may be sent. */
  Running = 'running',
  /** close() called; waiting for the transport to finish. */
  Closing = 'closing',
  Closed = 'closed',
}

export type TrafficDirection = 'in' | 'out';
/** Sees every message both ways: "in" is QEMU → client, "out" is client → QEMU. */
export type TrafficSink = (direction: TrafficDirection, message: QmpMessage) => void;

export interface QmpClientOptions extends ConnectOptions {
  /** Largest message accepted from the peer (bytes). Default 64 MiB. */
  maxMessageBytes?: number | undefined;
  /** Enable out-of-band execution when QEMU offers it. Default false. */
  oob?: boolean | undefined;
  /** Send qmp_capabilities during connect. Default true; false leaves negotiation to the caller. */
  negotiate?: boolean | undefined;
  /** How many recent events to keep for late waiters. Default 1000. */
  eventHistory?: number | undefined;
  /** Timeout for commands that do not give their own. Default 30 s; Infinity: none. */
  commandTimeoutMs?: number | undefined;
  /** Receives every message both ways (for traces and debugging). */
  traffic?: TrafficSink | undefined;
  /**
   * How long the transport may stay open without a greeting before that means the monitor is in use
   * by another client (QEMU serves one client per monitor and greets the next only when it leaves):
   * then MonitorBusyError. QmpClient.open's default: no such limit (connectTimeoutMs alone);
   * connect()'s: DEFAULT_GREETING_TIMEOUT_MS (1 s) for a socket when no connectTimeoutMs is given.
   */
  greetingTimeoutMs?: number | undefined;
}

export interface CommandOptions extends WaitOptions {}

export interface QmpClientEvents {
  event: [QmpEvent];
  /** Emitted once; `error` is set when the connection did not end by our own close(). */
  close: [error: Error | undefined];
  /** Something the peer sent that we dropped (e.g. a reply to an unknown id). */
  warning: [QmpError];
}
