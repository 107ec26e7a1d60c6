import { ProcessError, runProcess, type RunResult } from './process.js';

/** A qemu-img / qemu-io run that failed; carries the tool's own stderr. */
export class ImageToolError extends ProcessError {
  /** The program: qemu-img or qemu-io. */
  get tool(): string {
    return this.file;
  }
}

function run(tool: string, args: readonly string[], okCodes: readonly number[] = [0], timeoutMs = 120_000): Promise<RunResult> {
  return runProcess({ file: tool, args, okCodes, timeoutMs, error: (facts, options) => new ImageToolError(facts, options) });
}

export interface CreateImageOptions {
  format?: 'qcow2' | 'raw' | undefined;
  /** Size such as "64M"; may be omitted for an overlay (it takes the backing file's size). */
  size?: string | undefined;
  backing?: string | undefined;
  backingFormat?: string | undefined;
  /** `-u`: do not open the backing file (a running QEMU holds it; the size is given). */
  unsafeBacking?: boolean | undefined;
  signal?: AbortSignal | undefined;
}

/** `qemu-img create`. */
export async function createImage(file: string, options: CreateImageOptions = {}): Promise<void> {
  const args = ['create', '-q', '-f', options.format ?? 'qcow2'];
  if (options.backing) args.push('-b', options.backing, '-F', options.backingFormat ?? 'qcow2');
  if (options.backing && options.unsafeBacking) args.push('-u');
  args.push(file);
  if (options.size) args.push(options.size);
  await runProcess({ file: 'qemu-img', args, timeoutMs: 120_000, signal: options.signal, error: (facts, o) => new ImageToolError(facts, o) });
}

export interface QemuIoOptions {
  format?: string | undefined;
  /** Read an image that a running QEMU holds (`-U`). */
  forceShare?: boolean | undefined;
}

/**
 * Runs qemu-io commands against an image file (e.g. `write -P 0xaa 0 1M`, `read -P 0xaa 0 1M`).
 * qemu-io exits 0 even when a pattern check fails, so its output is checked for the failure text.
 */
export async function qemuIo(file: string, commands: readonly string[], options: QemuIoOptions = {}): Promise<string> {
  const args: string[] = [];
  if (options.format) args.push('-f', options.format);
  // force-share is only allowed read-only; the image stays QEMU's.
  if (options.forceShare) args.push('-r', '-U');
  for (const command of commands) args.push('-c', command);
  args.push(file);
  const { stdout, stderr } = await run('qemu-io', args);
  const failure = /Pattern verification failed|failed: |error|Error/.exec(stdout + stderr);
  if (failure) throw new ImageToolError({ file: 'qemu-io', args, end: { kind: 'exit', code: 0 }, stderr: stdout + stderr });
  return stdout;
}

/** `qemu-img compare`: true when the guest-visible contents are identical. */
export async function compareImages(a: string, b: string, options: { forceShare?: boolean | undefined } = {}): Promise<boolean> {
  const args = ['compare', '-q'];
  if (options.forceShare) args.push('-U');
  args.push(a, b);
  const { code } = await run('qemu-img', args, [0, 1]);
  return code === 0;
}

export interface ImageInfoJson {
  filename: string;
  format: string;
  'virtual-size': number;
  'backing-filename'?: string;
  'full-backing-filename'?: string;
  'backing-filename-format'?: string;
  [member: string]: unknown;
}

/** `qemu-img info --backing-chain --output=json`: the on-disk chain, top first. */
export async function imageChain(file: string, options: { forceShare?: boolean | undefined } = {}): Promise<ImageInfoJson[]> {
  const args = ['info', '--backing-chain', '--output=json'];
  if (options.forceShare) args.push('-U');
  args.push(file);
  const { stdout } = await run('qemu-img', args);
  return JSON.parse(stdout) as ImageInfoJson[];
}

/** `qemu-img convert` to a standalone copy (flattens the chain). */
export async function convertImage(
  source: string,
  target: string,
  format: 'qcow2' | 'raw' = 'raw',
  options: { forceShare?: boolean | undefined } = {},
): Promise<void> {
  const args = ['convert', '-O', format];
  if (options.forceShare) args.push('-U');
  args.push(source, target);
  await run('qemu-img', args);
}

/** One entry of `qemu-img map --output=json`. */
export interface ImageMapEntry {
  start: number;
  length: number;
  depth: number;
  present?: boolean;
  zero: boolean;
  data: boolean;
  offset?: number;
}

/**
 * `qemu-img map --output=json -U` of `image` (a file name or a `json:{…}` spec). -U opens it
 * read-only without taking QEMU's locks: map reads metadata only and never writes.
 */
export async function imageMap(image: string, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<ImageMapEntry[]> {
  const { stdout } = await runProcess({
    file: 'qemu-img',
    args: ['map', '--output=json', '-U', image],
    okCodes: [0],
    timeoutMs: options.timeoutMs ?? 120_000,
    signal: options.signal,
    error: (facts, errorOptions) => new ImageToolError(facts, errorOptions),
  });
  return JSON.parse(stdout) as ImageMapEntry[];
}
