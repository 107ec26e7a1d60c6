/*
 * A small qemu-guest-agent client: the agent speaks QMP-like JSON over its virtio-serial channel,
 * but sends no greeting and may hold half a command from an earlier client, so every connection
 * starts with guest-sync-delimited (a 0xFF byte resets the agent's parser; the agent answers with
 * 0xFF before its reply, which marks where stale output ends). One command at a time.
 * Through libvirt, `virsh qemu-agent-command` does the same on libvirt's own agent connection.
 */
import { randomInt } from 'node:crypto';
import { ConnectError, QmpError, QmpTimeoutError, AbortedError, type QmpErrorOptions } from '../errors.js';
import { LineFramer, type QmpMessage } from '../framing.js';
import { connectStream, type ByteStream } from '../transport/byte-stream.js';
import { describeAddress, type SocketAddress } from '../transport/socket.js';
import { runVirsh, type VirshTarget } from '../transport/virsh/exec.js';
import { setLongTimeout } from '../util/timers.js';
import { isJsonObject } from '../util/json.js';

/** How long one guest-agent command may take when the caller gives no timeout. */
export const DEFAULT_AGENT_TIMEOUT_MS = 10_000;

export interface AgentCallOptions {
  /** Default 10 s. */
  timeoutMs?: number;
  signal?: AbortSignal | undefined;
}

/** Where the guest agent is reached; `execute` rejects with GuestAgentError subclasses only. */
export interface GuestAgent {
  /** For messages: the socket path or the libvirt domain. */
  readonly target: string;
  execute(command: string, args?: Record<string, unknown>, options?: AgentCallOptions): Promise<unknown>;
  close(): void;
}

export class GuestAgentError extends QmpError {
  readonly target: string;
  constructor(target: string, message: string, options?: QmpErrorOptions) {
    super(`guest agent at ${target}: ${message}`, options);
    this.target = target;
  }
}

/** No agent there, or it does not answer guest-sync-delimited: nothing was asked of the guest. */
export class GuestAgentUnavailableError extends GuestAgentError {}

/** The agent answered a command with an error. */
export class GuestAgentCommandError extends GuestAgentError {
  readonly command: string;
  readonly errorClass: string;
  readonly desc: string;
  constructor(target: string, command: string, errorClass: string, desc: string, options?: QmpErrorOptions) {
    super(target, `${command}: ${errorClass}: ${desc}`, options);
    this.command = command;
    this.errorClass = errorClass;
    this.desc = desc;
  }
}

const SYNC_BYTE = 0xff;
const MAX_REPLY_BYTES = 1024 * 1024;

/** The agent on a UNIX socket (QEMU's chardev of the virtio-serial port). */
class SocketGuestAgent implements GuestAgent {
  readonly target: string;
  private framer = new LineFramer(MAX_REPLY_BYTES);
  /** While syncing: the id our guest-sync-delimited waits for; answers to an earlier client's are dropped. */
  private syncId: number | undefined;
  private reply: ((message: QmpMessage | Error) => void) | undefined;
  private busy = false;
  private closed = false;

  private stream: ByteStream | undefined;

  constructor(private readonly address: SocketAddress) {
    this.target = describeAddress(address);
  }

  /** (Re)connects and syncs: after a command timed out the old connection is dropped, and a thaw must still get through. */
  async open(options: AgentCallOptions): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 5_000;
    let stream: ByteStream;
    try {
      stream = await connectStream(this.address, timeoutMs);
    } catch (error) {
      const why = error instanceof ConnectError ? error.message : String(error);
      throw new GuestAgentUnavailableError(this.target, `no guest agent socket: ${why}`, { cause: error });
    }
    this.stream = stream;
    this.closed = false;
    this.syncId = undefined;
    this.framer = new LineFramer(MAX_REPLY_BYTES);
    stream.start({
      onData: (chunk) => {
        if (this.stream === stream) this.onData(chunk);
      },
      onClose: (error) => {
        if (this.stream !== stream) return;
        this.closed = true;
        this.reply?.(new GuestAgentError(this.target, `the connection closed${error ? `: ${error.message}` : ''}`, { cause: error }));
      },
    });
    try {
      await this.sync({ ...options, timeoutMs });
    } catch (error) {
      this.close();
      throw new GuestAgentUnavailableError(this.target, `the agent does not answer (is qemu-guest-agent running in the guest?): ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  private onData(chunk: Buffer): void {
    if (this.syncId !== undefined) {
      // Each 0xFF starts a sync answer: whatever came before it is stale output.
      const at = chunk.lastIndexOf(SYNC_BYTE);
      if (at !== -1) {
        this.framer = new LineFramer(MAX_REPLY_BYTES);
        chunk = chunk.subarray(at + 1);
      }
    }
    try {
      this.framer.push(chunk, (message) => {
        if (this.syncId !== undefined) {
          // A client that gave up on its sync leaves the agent's answer to it queued: not ours.
          if (message.return !== this.syncId) return;
          this.syncId = undefined;
        }
        this.reply?.(message);
      });
    } catch (error) {
      // Before our sync answer, bytes that do not parse are an earlier client's leftovers.
      if (this.syncId !== undefined) return;
      this.reply?.(error instanceof Error ? error : new Error(String(error)));
      this.stream?.destroy();
    }
  }

  async sync(options: AgentCallOptions): Promise<void> {
    const id = randomInt(1, 2 ** 31);
    this.syncId = id;
    await this.stream?.write(Buffer.from([SYNC_BYTE]));
    const answer = await this.call('guest-sync-delimited', { id }, options);
    if (answer !== id) throw new GuestAgentError(this.target, `guest-sync-delimited answered ${JSON.stringify(answer)}, expected ${id}`);
  }

  async execute(command: string, args?: Record<string, unknown>, options: AgentCallOptions = {}): Promise<unknown> {
    if (this.closed || !this.stream) await this.open(options);
    return this.call(command, args, options);
  }

  private async call(command: string, args: Record<string, unknown> | undefined, options: AgentCallOptions): Promise<unknown> {
    if (this.busy) throw new GuestAgentError(this.target, `${command}: another command is still waiting for its answer`);
    if (this.closed) throw new GuestAgentError(this.target, `${command}: the connection is closed`);
    const timeoutMs = options.timeoutMs ?? DEFAULT_AGENT_TIMEOUT_MS;
    this.busy = true;
    try {
      const message = await new Promise<QmpMessage | Error>((resolve) => {
        const timer = setLongTimeout(() => resolve(new QmpTimeoutError(`guest agent command ${command} at ${this.target}`, timeoutMs)), timeoutMs);
        const onAbort = (): void => resolve(new AbortedError(`guest agent command ${command}`, { cause: options.signal?.reason }));
        if (options.signal?.aborted) onAbort();
        options.signal?.addEventListener('abort', onAbort, { once: true });
        this.reply = (m) => {
          timer.clear();
          options.signal?.removeEventListener('abort', onAbort);
          resolve(m);
        };
        void this.stream?.write(`${JSON.stringify(args ? { execute: command, arguments: args } : { execute: command })}\n`);
      });
      this.reply = undefined;
      if (message instanceof Error) {
        // An answer that comes later would be taken for the next command's: this connection is done.
        this.close();
        throw message;
      }
      if ('return' in message) return message.return;
      const error = isJsonObject(message.error) ? message.error : {};
      throw new GuestAgentCommandError(this.target, command, String(error.class ?? 'GenericError'), String(error.desc ?? JSON.stringify(message)));
    } finally {
      this.busy = false;
    }
  }

  close(): void {
    this.closed = true;
    this.stream?.destroy();
  }
}

/**
 * Connects to the agent's socket and proves it answers (guest-sync-delimited within `timeoutMs`,
 * default 5 s). Rejects with GuestAgentUnavailableError when there is no socket or no answer.
 */
export async function connectGuestAgent(address: SocketAddress, options: AgentCallOptions = {}): Promise<GuestAgent> {
  const agent = new SocketGuestAgent(address);
  await agent.open(options);
  return agent;
}

/** The agent of a libvirt domain, through `virsh qemu-agent-command` (libvirt syncs with it itself). */
export class VirshGuestAgent implements GuestAgent {
  readonly target: string;
  constructor(
    private readonly domain: string,
    private readonly virsh: VirshTarget = {},
  ) {
    this.target = `domain ${domain}`;
  }

  async execute(command: string, args?: Record<string, unknown>, options: AgentCallOptions = {}): Promise<unknown> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_AGENT_TIMEOUT_MS;
    const seconds = String(Math.max(1, Math.ceil(timeoutMs / 1000)));
    let stdout: string;
    try {
      ({ stdout } = await runVirsh(
        this.virsh,
        ['qemu-agent-command', this.domain, '--timeout', seconds, JSON.stringify(args ? { execute: command, arguments: args } : { execute: command })],
        {
          timeoutMs: timeoutMs + 5_000,
          signal: options.signal,
        },
      ));
    } catch (error) {
      throw new GuestAgentError(this.target, `${command}: ${(error as Error).message}`, { cause: error });
    }
    let message: unknown;
    try {
      message = JSON.parse(stdout);
    } catch (error) {
      throw new GuestAgentError(this.target, `${command}: virsh printed no JSON: ${stdout.slice(0, 200)}`, { cause: error });
    }
    if (isJsonObject(message) && 'return' in message) return message.return;
    throw new GuestAgentError(this.target, `${command}: unexpected answer ${stdout.slice(0, 200)}`);
  }

  /** Proves libvirt reaches the agent (guest-ping), else GuestAgentUnavailableError. */
  async probe(options: AgentCallOptions = {}): Promise<void> {
    try {
      await this.execute('guest-ping', undefined, { timeoutMs: 5_000, ...options });
    } catch (error) {
      throw new GuestAgentUnavailableError(this.target, `the agent does not answer: ${(error as Error).message}`, { cause: error });
    }
  }

  close(): void {}
}
