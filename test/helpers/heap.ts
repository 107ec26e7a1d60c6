import { readFileSync } from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';

/** A full GC, whether or not node was started with --expose-gc. */
export const gc: () => void = (globalThis as { gc?: () => void }).gc ?? exposeGc();

function exposeGc(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

/** Heap in use after a full GC (bytes). */
export function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Resident memory of another process now (MiB), from /proc. */
export function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}
