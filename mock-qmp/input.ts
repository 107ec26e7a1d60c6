import { parseJsonStream, type JsonValue } from 'json-stream-es';

/**
 * Parses what a client sends the way QEMU's JSON streamer does: JSON values one after another,
 * with or without whitespace or newlines between them, cut into chunks anywhere. Only input
 * (commands, a few hundred bytes each) goes through here, so a streaming parser's speed is fine.
 * Values arrive in order; `onError` fires once on bad JSON or when one value grows past `maxBytes`.
 */
export class InputParser {
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  private readonly maxBytes: number;
  private bytesSinceValue = 0;
  private backlogBytes = 0;
  private failed = false;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    onValue: (value: JsonValue) => void,
    private readonly onError: (error: Error) => void,
    maxBytes = 1024 * 1024,
    private readonly onProgress?: () => void,
  ) {
    this.maxBytes = maxBytes;
    const decoder = new TextDecoderStream();
    this.writer = decoder.writable.getWriter();
    const values = decoder.readable.pipeThrough(parseJsonStream(undefined, { multi: true }));
    void (async () => {
      try {
        for await (const value of values) {
          this.bytesSinceValue = 0;
          if (!this.failed) onValue(value);
        }
      } catch (error) {
        this.fail(error instanceof Error ? error : new Error(String(error)));
      }
    })();
  }

  /** Bytes pushed and not yet taken by the parser: the caller stops reading while this is large. */
  get backlog(): number {
    return this.backlogBytes;
  }

  push(chunk: Uint8Array): void {
    if (this.failed) return;
    this.bytesSinceValue += chunk.length;
    if (this.bytesSinceValue > this.maxBytes) {
      this.fail(new Error(`input of more than ${this.maxBytes} bytes without a complete JSON value`));
      return;
    }
    // Writes are chained so chunks keep their order; a failed write surfaces through the reader.
    this.backlogBytes += chunk.length;
    this.chain = this.chain
      .then(() => this.writer.write(chunk))
      .catch(() => {})
      .finally(() => {
        this.backlogBytes -= chunk.length;
        this.onProgress?.();
      });
  }

  end(): void {
    this.chain = this.chain.then(() => this.writer.close()).catch(() => {});
  }

  private fail(error: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.writer.abort(error).catch(() => {});
    this.onError(error);
  }
}
