/*
 * A guest device's I/O: what it has written (query-blockstats) and its limits (block_set_io_throttle
 * by qdev id), read so that they can be put back exactly: the convergence guard limits the guest's
 * writes for a while and must never leave its limit behind.
 */
import { QmpCommandError } from '../errors.js';
import type { QmpClient } from '../protocol/client.js';
import type { BlockIoThrottle } from '../qapi/types.js';
import { describeDisk } from './chain.js';
import { IoThrottleError } from './errors.js';
import type { DiskChain } from './types.js';

const LIMIT_NAMES = [
  'bps',
  'bps_rd',
  'bps_wr',
  'iops',
  'iops_rd',
  'iops_wr',
  'bps_max',
  'bps_rd_max',
  'bps_wr_max',
  'iops_max',
  'iops_rd_max',
  'iops_wr_max',
  'bps_max_length',
  'bps_rd_max_length',
  'bps_wr_max_length',
  'iops_max_length',
  'iops_rd_max_length',
  'iops_wr_max_length',
  'iops_size',
] as const;

/** The guest device block_set_io_throttle names (a qdev id or QOM path; QEMU takes either). */
function deviceId(disk: DiskChain): string {
  const id = disk.qdevPath ?? disk.qdevId;
  if (!id) throw new IoThrottleError(`cannot limit the guest's I/O on ${describeDisk(disk)}: no guest device uses it`, disk.device);
  return id;
}

function isDevice(qdev: string | undefined, disk: DiskChain, id: string): boolean {
  return qdev !== undefined && (qdev === disk.qdevPath || qdev === id || qdev.startsWith(`/machine/peripheral/${id}/`));
}

/** The bytes the guest has written to the device since QEMU started. */
export async function guestWrittenBytes(client: QmpClient, disk: DiskChain, options: { timeoutMs?: number } = {}): Promise<number> {
  const id = deviceId(disk);
  const stats = (await client.execute('query-blockstats', undefined, options)).find(
    (s) => isDevice(s.qdev, disk, id) || (disk.driveId !== undefined && disk.driveId !== '' && s.device === disk.driveId),
  );
  if (!stats) throw new IoThrottleError(`cannot read the guest's writes to ${describeDisk(disk)}: query-blockstats has no device ${id}`, disk.device);
  return stats.stats.wr_bytes;
}

/** The device's limits now, as block_set_io_throttle arguments that would set them again. */
export async function readIoLimits(client: QmpClient, disk: DiskChain, options: { timeoutMs?: number } = {}): Promise<BlockIoThrottle> {
  const id = deviceId(disk);
  const blocks = await client.execute('query-block', undefined, options);
  const block = blocks.find((b) => isDevice(b.qdev, disk, id));
  const inserted = block?.inserted;
  if (!inserted) throw new IoThrottleError(`cannot read the I/O limits of ${describeDisk(disk)}: query-block has no medium for ${id}`, disk.device);
  const limits: BlockIoThrottle = {
    id,
    bps: inserted.bps,
    bps_rd: inserted.bps_rd,
    bps_wr: inserted.bps_wr,
    iops: inserted.iops,
    iops_rd: inserted.iops_rd,
    iops_wr: inserted.iops_wr,
  };
  for (const name of LIMIT_NAMES) {
    const value = inserted[name];
    if (typeof value === 'number') limits[name] = value;
  }
  if (typeof inserted.group === 'string') limits.group = inserted.group;
  return limits;
}

/** Sets the device's limits (every member given: what is left out would be reset by QEMU). */
export async function setIoLimits(client: QmpClient, disk: DiskChain, limits: BlockIoThrottle, options: { timeoutMs?: number } = {}): Promise<void> {
  // A device without throttling has no group; naming none keeps QEMU's default (the device's own).
  const { group, ...rest } = limits;
  const args: BlockIoThrottle = {
    ...rest,
    id: deviceId(disk),
    ...(group && (limits.bps || limits.bps_rd || limits.bps_wr || limits.iops || limits.iops_rd || limits.iops_wr) ? { group } : {}),
  };
  try {
    await client.execute('block_set_io_throttle', args, options);
  } catch (error) {
    if (error instanceof QmpCommandError)
      throw new IoThrottleError(`cannot set the I/O limits of ${describeDisk(disk)}: ${error.errorClass}: ${error.desc}`, disk.device, { cause: error });
    throw error;
  }
}

/**
 * `limits` with writes held to `bytesPerSecond` (or below, where the device already had a lower
 * limit). QEMU refuses a total (bps) and a write (bps_wr) limit together: a device limited in total
 * gets its total lowered instead, which holds its reads too. Bursts are dropped while it applies.
 */
export function withWriteLimit(limits: BlockIoThrottle, bytesPerSecond: number): BlockIoThrottle {
  const lower = (current: number): number => (current > 0 ? Math.min(current, bytesPerSecond) : bytesPerSecond);
  const { bps_max: _total, bps_wr_max: _write, bps_max_length: _totalLength, bps_wr_max_length: _writeLength, ...rest } = limits;
  return limits.bps > 0 ? { ...rest, bps: lower(limits.bps) } : { ...rest, bps_wr: lower(limits.bps_wr) };
}
