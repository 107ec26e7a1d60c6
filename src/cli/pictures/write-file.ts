/* Writing a picture the user asked for (-o FILE): a new regular file, never over one, never through a link. */
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { UsageError } from '../args.js';

export function writeNewFile(file: string, text: string, command: string): number {
  const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;
  let fd: number;
  try {
    // 0600: a trace's commands may name hosts and paths the user would not publish by accident.
    fd = openSync(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'EEXIST' ? 'it already exists; refusing to overwrite it' : (error as Error).message;
    throw new UsageError(`cannot write ${file}: ${reason}`, command);
  }
  try {
    const bytes = Buffer.from(text, 'utf8');
    let done = 0;
    while (done < bytes.length) done += writeSync(fd, bytes, done);
    return bytes.length;
  } finally {
    closeSync(fd);
  }
}
