/**
 * The seam between a peer and QMP. A Transport is an already-connected duplex stream: the socket
 * transports carry QEMU's own bytes (onData, framed above by LineFramer); the virsh transport has
 * whole messages already (virsh's replies and event lines, parsed once) and hands them over as
 * they are (onMessage), as QEMU's python AsyncProtocol splits _do_recv from the byte stream.
 * Everything above this file (framing, protocol, jobs, CLI) sees only this interface.
 */
export interface TransportHandlers {
  /** A chunk of QMP output, in arrival order. Chunk boundaries carry no meaning. */
  onData(chunk: Buffer): void;
  /** One whole QMP message, from a transport that has messages rather than bytes. */
  onMessage(message: Record<string, unknown>): void;
  /** Called once when the stream ends; `error` is set when it ended abnormally. */
  onClose(error?: Error): void;
}

export interface Transport {
  /** Human-readable peer description for error messages, e.g. "unix:/tmp/qmp.sock". */
  readonly peer: string;
  /** Starts delivering data. Data that arrived before this call is kept and delivered first. */
  start(handlers: TransportHandlers): void;
  /** Writes bytes to the peer. Throws if the transport is closed. */
  write(data: string): void;
  /** Ends the stream gracefully and resolves when it is fully closed. */
  close(): Promise<void>;
  /** Tears the stream down at once. */
  destroy(error?: Error): void;
  /**
   * Socket transports: stops reading and gives the open socket up with the bytes read and not
   * delivered, for another process to go on with (src/share/keeper.ts).
   */
  release?: (() => { socket: unknown; unread: Buffer }) | undefined;
}

/** How long reaching a monitor may take by default, retries, greeting and negotiation included. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

export interface ConnectOptions {
  /** Total time allowed to reach the peer, retries included. Default DEFAULT_CONNECT_TIMEOUT_MS (10 s). */
  connectTimeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
}
