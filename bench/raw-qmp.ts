// The floor for a live commit: a minimal event-driven QMP client on a bare net.Socket — newline split and
// JSON.parse, no ids map, no timeouts, no state machine. Used in-process by the reaction bench and as the
// standalone script bench/raw-commit.ts. Deliberately no library code.
import net from 'node:net';

export interface RawMessage {
  event?: string;
  data?: Record<string, unknown>;
  return?: unknown;
  error?: { class: string; desc: string };
  id?: unknown;
  QMP?: unknown;
  timestamp?: { seconds: number; microseconds: number };
}

/** QEMU says a job is ready twice: JOB_STATUS_CHANGE "ready", then BLOCK_JOB_READY. Act on the first. */
function isReady(m: RawMessage, jobId: string): boolean {
  if (m.event === 'BLOCK_JOB_READY') return m.data?.device === jobId;
  return m.event === 'JOB_STATUS_CHANGE' && m.data?.id === jobId && m.data.status === 'ready';
}

export class RawQmp {
  private buffer = '';
  private nextId = 0;
  private readonly waiting = new Map<number, () => void>();
  onMessage: (message: RawMessage) => void = () => {};
  private constructor(readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      this.buffer += text;
      let newline: number;
      while ((newline = this.buffer.indexOf('\n')) !== -1) {
        const line = this.buffer.slice(0, newline);
        this.buffer = this.buffer.slice(newline + 1);
        if (!line.trim()) continue;
        const message = JSON.parse(line) as RawMessage;
        const done = typeof message.id === 'number' ? this.waiting.get(message.id) : undefined;
        if (done) {
          this.waiting.delete(message.id as number);
          done();
        } else this.onMessage(message);
      }
    });
  }

  /** Connects, reads the greeting and negotiates capabilities. */
  static connect(path: string): Promise<RawQmp> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(path);
      socket.once('error', reject);
      const client = new RawQmp(socket);
      client.onMessage = (m) => {
        if (m.QMP) {
          socket.write('{"execute":"qmp_capabilities"}\n');
        } else if (m.return !== undefined) {
          client.onMessage = () => {};
          resolve(client);
        } else if (m.error) reject(new Error(m.error.desc));
      };
    });
  }

  /** One command, resolved when the reply with its id arrives (the round-trip bench's floor). */
  call(execute: string): Promise<void> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.socket.write(`{"execute":"${execute}","id":${id}}\n`);
    });
  }

  send(execute: string, args?: object): void {
    this.socket.write(`${JSON.stringify(args ? { execute, arguments: args } : { execute })}\n`);
  }

  /**
   * Active commit + pivot of the root node `device`: block-commit, job-complete on this job's
   * BLOCK_JOB_READY, resolves on its BLOCK_JOB_COMPLETED (rejects on an error reply or a job error).
   */
  activeCommit(device: string, jobId: string): Promise<void> {
    let completing = false;
    return new Promise((resolve, reject) => {
      this.onMessage = (m) => {
        if (m.error) reject(new Error(`${m.error.class}: ${m.error.desc}`));
        else if (!completing && isReady(m, jobId)) {
          completing = true;
          this.send('job-complete', { id: jobId });
        } else if (m.event === 'BLOCK_JOB_COMPLETED' && m.data?.device === jobId) {
          if (m.data.error) reject(new Error(String(m.data.error)));
          else resolve();
        } else if (m.event === 'BLOCK_JOB_CANCELLED' && m.data?.device === jobId) reject(new Error('job cancelled'));
      };
      this.send('block-commit', { 'job-id': jobId, device });
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
