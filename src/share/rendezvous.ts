/*
 * Where a qmp-blockjob command that holds a QMP socket serves it to the next ones: a private UNIX
 * socket whose path derives from the QMP socket's real path, in a folder only this user can enter
 * (mode 0700, owned by us, no symbolic link), the socket itself mode 0600. A socket nobody listens
 * on (its holder died) is stale: it is ignored, and replaced by the next holder.
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectStream } from '../transport/byte-stream.js';

/** The private folder for this user's rendezvous sockets, made if missing; undefined when it is not safe to use. */
function privateDir(): string | undefined {
  const uid = process.getuid?.() ?? 0;
  const dir = path.join(process.env.XDG_RUNTIME_DIR ?? os.tmpdir(), `qmp-blockjob-${uid}`);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return undefined;
  }
  const stats = lstatSync(dir);
  // Someone else's folder, a link, or one others may enter: do not share through it.
  if (!stats.isDirectory() || stats.uid !== uid || (stats.mode & 0o077) !== 0) return undefined;
  return dir;
}

/** The rendezvous socket for the QMP socket at `qmpSocket`, or undefined when sharing is not safe here. */
export function rendezvousPath(qmpSocket: string): string | undefined {
  let real: string;
  try {
    real = realpathSync(qmpSocket);
  } catch {
    return undefined;
  }
  const dir = privateDir();
  if (!dir) return undefined;
  return path.join(dir, `${createHash('sha256').update(real).digest('hex').slice(0, 24)}.sock`);
}

/** Whether a live share answers at `rendezvous` (a connect succeeds); a stale socket does not. */
export async function shareIsLive(rendezvous: string): Promise<boolean> {
  try {
    lstatSync(rendezvous);
  } catch {
    return false;
  }
  try {
    const probe = await connectStream({ path: rendezvous }, 1000);
    probe.destroy();
    return true;
  } catch {
    return false;
  }
}
