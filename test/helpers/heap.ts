import v8 from 'node:v8';
import vm from 'node:vm';

/** A full GC, whether or not node was started with --expose-gc. */
export const gc: () => void = (globalThis as { gc?: () => void }).gc ?? (v8.setFlagsFromString('--expose-gc'), vm.runInNewContext('gc') as () => void);

/** Heap in use after a full GC (bytes). */
export function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
