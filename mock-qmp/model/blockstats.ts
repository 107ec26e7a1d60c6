/*
 * query-blockstats from the model's state: every QEMU answers it (the CLI's convergence guard reads a
 * device's wr_bytes), so the model does, for the devices of the graph as it stands (the recorded
 * query-block at this epoch), with what clients wrote through the guest (HMP qemu-io writes) since.
 */
import type { QmpMessage } from '../../src/framing.js';
import { isJsonObject as isObject } from '../../src/util/json.js';

const COUNTERS = [
  'rd_bytes',
  'wr_bytes',
  'unmap_bytes',
  'rd_operations',
  'wr_operations',
  'flush_operations',
  'unmap_operations',
  'rd_merged',
  'wr_merged',
  'unmap_merged',
  'wr_highest_offset',
  'rd_total_time_ns',
  'wr_total_time_ns',
  'flush_total_time_ns',
  'unmap_total_time_ns',
  'invalid_rd_operations',
  'invalid_wr_operations',
  'invalid_flush_operations',
  'invalid_unmap_operations',
  'failed_rd_operations',
  'failed_wr_operations',
  'failed_flush_operations',
  'failed_unmap_operations',
] as const;

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** The device and bytes of an HMP `qemu-io -d DEVICE "write … OFFSET LENGTH"`, if it is one. */
export function guestWrite(args: Record<string, unknown> | undefined): { device: string; bytes: number } | undefined {
  const line = args?.['command-line'];
  if (typeof line !== 'string') return undefined;
  const match = /^\s*qemu-io\s+(?:-d\s+)?(\S+)\s+["']?(?:aio_)?(?:write|writev|zero)\b(.*?)["']?\s*$/.exec(line);
  if (!match) return undefined;
  // The last two words are offset and length (options such as -P 0x55 come first).
  const words = match[2]!.trim().split(/\s+/);
  const length = /^(\d+)([bkmgt]?)$/i.exec(words.at(-1) ?? '');
  return length ? { device: match[1]!, bytes: Number(length[1]) * UNITS[length[2]!.toLowerCase()]! } : undefined;
}

/** query-blockstats' return for the devices `blocks` (a recorded query-block return), `written` bytes per device name or qdev. */
export function blockstats(blocks: unknown, written: ReadonlyMap<string, number>): QmpMessage[] {
  if (!Array.isArray(blocks)) return [];
  return blocks.filter(isObject).map((block) => {
    const device = typeof block.device === 'string' ? block.device : '';
    const qdev = typeof block.qdev === 'string' ? block.qdev : undefined;
    const inserted = isObject(block.inserted) ? block.inserted : undefined;
    const stats: Record<string, unknown> = Object.fromEntries(COUNTERS.map((name) => [name, 0]));
    let bytes = 0;
    for (const [name, count] of written) {
      if ((device !== '' && name === device) || (qdev !== undefined && (name === qdev || qdev.startsWith(`/machine/peripheral/${name}/`)))) bytes += count;
    }
    stats.wr_bytes = bytes;
    Object.assign(stats, { account_invalid: true, account_failed: true, timed_stats: [] });
    return {
      device,
      ...(qdev !== undefined ? { qdev } : {}),
      ...(inserted && typeof inserted['node-name'] === 'string' ? { 'node-name': inserted['node-name'] } : {}),
      stats,
    } as QmpMessage;
  });
}
