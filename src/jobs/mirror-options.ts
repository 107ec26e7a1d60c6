/*
 * What a copy (blockdev-mirror) may be asked, checked before anything is touched: the destination,
 * the options, and the three things built from them — how to create the destination file, the
 * blockdev-add of its node, and blockdev-mirror's arguments. Pure: no QEMU, no file system.
 */
import path from 'node:path';
import { diskLabel } from '../block/chain.js';
import type { ChainLayer, DiskChain } from '../block/types.js';
import { isProtocolDriver } from '../protocol/capabilities.js';
import type { BlockdevMirrorArguments, BlockdevOnError, BlockdevOptions } from '../qapi/types.js';
import { assertSpeed } from './core.js';
import { defaultCopyJobId } from './discovery.js';
import { diskContext, JobOptionError, type JobErrorContext } from './errors.js';

export type CopyMode = 'background' | 'write-blocking';

/** Where a copy goes (virsh blockcopy --dest, --format, --shallow, --reuse-external). */
export interface MirrorTarget {
  /** Absolute path of the destination image. */
  file: string;
  /** Default qcow2. */
  format?: 'qcow2' | 'raw' | undefined;
  /**
   * Copy only the active layer (sync "top"): the destination backs onto the active layer's backing
   * image, which stays shared. Needs qcow2. Without it the destination holds the whole guest view.
   */
  shallow?: boolean | undefined;
  /**
   * The destination exists already, made by the caller with the right size (and, with shallow,
   * the right backing file); else it is created and must not exist.
   */
  reuseExisting?: boolean | undefined;
  /**
   * With reuseExisting and shallow: copy into a destination that already holds data of its own.
   * What it holds hides the backing image where the copy writes nothing, so it is refused unless
   * the caller says it is meant (a destination pre-seeded with the active layer's data).
   */
  allowExistingData?: boolean | undefined;
}

export interface MirrorOptions {
  /** Job id; default `copy-<disk>`. */
  jobId?: string | undefined;
  /** Node name for the destination; default `copy-<disk>-dest` (or the next free `…-destN`). */
  nodeName?: string | undefined;
  /** Bandwidth limit in bytes per second; 0 (default) is unlimited. */
  speed?: number | undefined;
  /** Bytes tracked by one dirty bit: a power of two, 512 B to 64 MiB (QEMU's default follows the cluster size). */
  granularity?: number | undefined;
  /** Bytes of copy buffer in flight (QEMU's default 16 MiB). */
  bufSize?: number | undefined;
  /** background (default), or write-blocking: the guest's writes go to both at once, so the copy always converges. */
  copyMode?: CopyMode | undefined;
  onSourceError?: BlockdevOnError | undefined;
  onTargetError?: BlockdevOnError | undefined;
  autoFinalize?: boolean | undefined;
  autoDismiss?: boolean | undefined;
  commandTimeoutMs?: number | undefined;
  /** Aborts the start only: a job that already exists keeps running (see cancelSignal). */
  signal?: AbortSignal | undefined;
  /**
   * Cancels the job when it fires (forced, as job.cancel()): before the job exists the start is
   * aborted (AbortedError, nothing left behind); once it exists the start still resolves with the
   * job and wait() resolves with outcome "aborted".
   */
  cancelSignal?: AbortSignal | undefined;
}

/** What the destination file is created as (qemu-img create), when it is created. */
export interface DestinationImage {
  file: string;
  format: 'qcow2' | 'raw';
  /** Virtual size in bytes: the guest disk's. */
  size: number;
  backing?: { file: string; format: string };
}

/** Everything start() needs, checked. */
export interface MirrorPlan {
  jobId: string;
  nodeName: string;
  sync: 'full' | 'top';
  /** The image the destination backs onto (shallow and the disk has one), shared with the source. */
  backing: ChainLayer | undefined;
  /** To create, or undefined when reused. */
  create: DestinationImage | undefined;
  blockdev: BlockdevOptions;
  /** A reused destination may hold data of its own (MirrorTarget.allowExistingData). */
  allowExistingData: boolean;
}

const ON_ERROR = new Set(['report', 'stop', 'ignore', 'enospc', 'auto']);
/** QEMU's rule for ids and node names (id_wellformed), and its 31-character limit for node names. */
const NODE_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,30}$/;
const MAX_GRANULARITY = 64 * 1024 * 1024;

/** The destination's node name: `<job id>-dest`, or the first free `<job id>-destN`, kept to QEMU's 31 characters. */
export function targetNodeName(jobId: string, used: ReadonlySet<string>): string {
  const stem = jobId.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^[^A-Za-z]/, 'c');
  for (let n = 1; ; n++) {
    const suffix = n === 1 ? '-dest' : `-dest${n}`;
    const name = stem.slice(0, 31 - suffix.length) + suffix;
    if (!used.has(name)) return name;
  }
}

/** Checks target and options against the disk and builds the plan. Throws JobOptionError, nothing touched. */
export function planMirror(disk: DiskChain, target: MirrorTarget, options: MirrorOptions, usedNodeNames: ReadonlySet<string>): MirrorPlan {
  const jobId = options.jobId ?? defaultCopyJobId(disk);
  const context: JobErrorContext = diskContext(disk, jobId);
  if (typeof jobId !== 'string' || jobId === '') throw new JobOptionError('job id must be a non-empty string', context);
  if (typeof target.file !== 'string' || !path.isAbsolute(target.file)) {
    throw new JobOptionError(
      `the destination must be an absolute path (QEMU would resolve '${String(target.file)}' against its own working directory)`,
      context,
    );
  }
  const format = target.format ?? 'qcow2';
  if (format !== 'qcow2' && format !== 'raw') throw new JobOptionError(`the destination format must be qcow2 or raw (got ${String(format)})`, context);
  const active = disk.layers.at(-1);
  if (!active) throw new JobOptionError(`disk ${diskLabel(disk)} has no image to copy`, context);
  if (disk.layers.some((l) => l.file === target.file)) throw new JobOptionError(`the destination ${target.file} is an image of the disk itself`, context);
  const backing = target.shallow ? disk.layers.at(-2) : undefined;
  checkMirrorOptions(target, options, context);
  const nodeName = options.nodeName ?? targetNodeName(jobId, usedNodeNames);
  if (!NODE_NAME.test(nodeName))
    throw new JobOptionError(`node name '${nodeName}' is not one QEMU takes (a letter, then up to 30 letters, digits, '-', '.', '_')`, context);
  if (usedNodeNames.has(nodeName)) throw new JobOptionError(`node name '${nodeName}' is already in use`, context);

  const blockdev: BlockdevOptions = { driver: format, 'node-name': nodeName, file: { driver: 'file', filename: target.file } };
  // qcow2: name the backing node outright (shared with the source), or none — never what the header may say.
  if (format === 'qcow2') blockdev.backing = backing ? backing.nodeName : null;
  const create: DestinationImage | undefined = target.reuseExisting
    ? undefined
    : {
        file: target.file,
        format,
        size: active.virtualSize,
        ...(backing ? { backing: { file: backing.file, format: isProtocolDriver(backing.format) ? 'raw' : backing.format } } : {}),
      };
  return { jobId, nodeName, sync: backing ? 'top' : 'full', backing, create, blockdev, allowExistingData: target.allowExistingData === true };
}

function checkSizes({ granularity, bufSize }: MirrorOptions, context: JobErrorContext): void {
  if (
    granularity !== undefined &&
    !(Number.isSafeInteger(granularity) && granularity >= 512 && granularity <= MAX_GRANULARITY && (granularity & (granularity - 1)) === 0)
  ) {
    throw new JobOptionError(`granularity must be a power of two from 512 to ${MAX_GRANULARITY} bytes (got ${granularity})`, context);
  }
  if (bufSize !== undefined && !(Number.isSafeInteger(bufSize) && bufSize > 0))
    throw new JobOptionError(`buf-size must be a whole number of bytes above 0 (got ${bufSize})`, context);
}

/** Checks what needs no disk (a caller may do it before connecting): the format with shallow, the sizes, the modes. Throws JobOptionError. */
export function checkMirrorOptions(target: MirrorTarget, options: MirrorOptions, context: JobErrorContext = {}): void {
  if ((target.format ?? 'qcow2') === 'raw' && target.shallow)
    throw new JobOptionError("a shallow copy backs onto the disk's backing image, which a raw destination cannot: use qcow2", context);
  if (options.speed !== undefined) assertSpeed(options.speed, context);
  checkSizes(options, context);
  if (options.copyMode !== undefined && options.copyMode !== 'background' && options.copyMode !== 'write-blocking') {
    throw new JobOptionError(`copy mode must be background or write-blocking (got ${String(options.copyMode)})`, context);
  }
  for (const [name, value] of [
    ['on-source-error', options.onSourceError],
    ['on-target-error', options.onTargetError],
  ] as const) {
    if (value !== undefined && !ON_ERROR.has(value))
      throw new JobOptionError(`${name} must be one of ${[...ON_ERROR].join(', ')} (got ${String(value)})`, context);
  }
}

/** blockdev-mirror's arguments for the plan (copy-mode only when asked: the caller checks QEMU has it). */
export function mirrorArguments(disk: DiskChain, plan: MirrorPlan, options: MirrorOptions): BlockdevMirrorArguments {
  const args: BlockdevMirrorArguments = { 'job-id': plan.jobId, device: disk.device, target: plan.nodeName, sync: plan.sync };
  if (options.speed !== undefined) args.speed = options.speed;
  if (options.granularity !== undefined) args.granularity = options.granularity;
  if (options.bufSize !== undefined) args['buf-size'] = options.bufSize;
  if (options.copyMode !== undefined) args['copy-mode'] = options.copyMode;
  if (options.onSourceError !== undefined) args['on-source-error'] = options.onSourceError;
  if (options.onTargetError !== undefined) args['on-target-error'] = options.onTargetError;
  if (options.autoFinalize !== undefined) args['auto-finalize'] = options.autoFinalize;
  if (options.autoDismiss !== undefined) args['auto-dismiss'] = options.autoDismiss;
  return args;
}
