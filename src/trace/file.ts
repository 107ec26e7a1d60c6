/*
 * Opening a trace file safely. A trace is written where a user points, often beside disk images: it
 * must never clobber an existing file (a 12.9 MB qcow2 once became a 212-byte trace), never follow a
 * symbolic link, never block on a FIFO nobody reads, and be readable by its owner only (mode 0600).
 */
import { closeSync, constants, fstatSync, ftruncateSync, lstatSync, openSync } from 'node:fs';
import { QmpError } from '../errors.js';

/** The trace file cannot be used; says which file and why. */
export class TraceFileError extends QmpError {
  readonly file: string;
  readonly reason: string;
  constructor(file: string, reason: string, options?: { cause?: unknown }) {
    super(`cannot write the trace to ${file}: ${reason}`, options);
    this.file = file;
    this.reason = reason;
  }
}

export interface TraceFileOptions {
  /** Add to an existing regular file instead of refusing it. */
  append?: boolean | undefined;
  /** Replace an existing regular file instead of refusing it. */
  overwrite?: boolean | undefined;
  /** How the caller's user asks for append/overwrite, for the "it exists" message (e.g. "--trace-append"). */
  existsHint?: string | undefined;
}

function isSymbolicLink(file: string): boolean {
  try {
    return lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Whether openTraceFile would accept `file`, without creating it (for a check before listening). */
export function checkTraceTarget(file: string, options: TraceFileOptions = {}): void {
  let stats;
  try {
    stats = lstatSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new TraceFileError(file, (error as Error).message, { cause: error });
  }
  if (stats.isSymbolicLink()) throw new TraceFileError(file, 'it is a symbolic link; refusing to follow it');
  if (!stats.isFile()) throw new TraceFileError(file, 'it is not a regular file');
  if (!options.append && !options.overwrite) {
    throw new TraceFileError(file, `it already exists; refusing to overwrite it${options.existsHint ? ` (${options.existsHint})` : ''}`);
  }
}

/** Opens `file` for writing as the options say; returns the fd. Throws TraceFileError. */
export function openTraceFile(file: string, options: TraceFileOptions = {}): number {
  const { O_WRONLY, O_CREAT, O_EXCL, O_APPEND, O_NOFOLLOW, O_NONBLOCK } = constants;
  // O_NONBLOCK: a FIFO without a reader fails (ENXIO) instead of blocking open() — and SIGINT with it.
  let flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK;
  if (options.append) flags |= O_APPEND;
  else if (!options.overwrite) flags |= O_EXCL;
  let fd: number;
  try {
    fd = openSync(file, flags, 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const link = (code === 'EEXIST' || code === 'ELOOP') && isSymbolicLink(file);
    const reason = link
      ? 'it is a symbolic link; refusing to follow it'
      : code === 'EEXIST'
        ? `it already exists; refusing to overwrite it${options.existsHint ? ` (${options.existsHint})` : ''}`
        : code === 'ENXIO'
          ? 'it is a FIFO or socket with no reader, not a regular file'
          : (error as Error).message;
    throw new TraceFileError(file, reason, { cause: error });
  }
  const stats = fstatSync(fd);
  if (!stats.isFile()) {
    closeSync(fd);
    throw new TraceFileError(file, 'it is not a regular file');
  }
  // Truncated only now, once it is known to be a regular file the caller asked to replace.
  if (options.overwrite && !options.append) ftruncateSync(fd, 0);
  return fd;
}
