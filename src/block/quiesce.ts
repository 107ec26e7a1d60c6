/*
 * Quiesced snapshots and checkpoints (virsh snapshot-create-as --quiesce, checkpoint-create
 * --quiesce): the guest's filesystems are frozen through qemu-guest-agent, the atomic transaction
 * runs, and the guest is thawed, on every way out (success, QEMU's error, abort, timeout, a lost
 * QMP connection). The freeze is bounded: past `freezeTimeoutMs` the guest is thawed, because a
 * frozen guest blocks every writer inside it. A transaction already sent is still never given up
 * on (src/protocol/in-flight.ts): its reply, awaited after the thaw, says whether it took effect.
 */
import { AbortedError, CommandOutcomeUnknownError, QmpError, type QmpErrorOptions } from '../errors.js';
import { SnapshotOutcomeUnknownError } from './errors.js';
import { setLongTimeout, type LongTimer } from '../util/timers.js';
import { isJsonObject } from '../util/json.js';
import type { BlockQueryClient } from './chain.js';
import { createCheckpoint, type CheckpointOptions, type DiskCheckpoints } from './checkpoints.js';
import { DEFAULT_AGENT_TIMEOUT_MS, GuestAgentCommandError, GuestAgentError, type GuestAgent } from './guest-agent.js';
import { createSnapshots, type SnapshotOptions, type SnapshotSpec } from './snapshot.js';
import type { DiskChain } from './types.js';

export interface QuiesceOptions extends Omit<SnapshotOptions, 'beforeTransaction'> {
  agent: GuestAgent;
  /** Longest time the guest stays frozen (freeze, transaction). Default 10 s. */
  freezeTimeoutMs?: number | undefined;
  /** Bound on thawing (retried within it). Default 10 s. */
  thawTimeoutMs?: number | undefined;
}

/** What was frozen, and for how long. */
export interface Quiesced {
  /** The filesystems the agent froze, as "mountpoint (type on device)" when it tells, else their count. */
  filesystems: string[];
  frozenCount: number;
  /** From the freeze request to the thaw's answer. */
  frozenMs: number;
}

export interface QuiescedSnapshots extends Quiesced {
  chains: DiskChain[];
}

export interface QuiescedCheckpoint extends Quiesced {
  /** Each disk's layers with their bitmaps, the new checkpoint on the active one. */
  disks: DiskCheckpoints[];
}

/** What the frozen transaction makes: its noun in messages, and what exists when it succeeded. */
type Made = 'snapshot' | 'checkpoint';

/** The guest could not be frozen; nothing was created. */
export class GuestFreezeError extends GuestAgentError {}

/**
 * QEMU had not answered the transaction within the freeze bound: the guest was thawed then, and
 * the reply awaited after. `taken`: QEMU then did it (a snapshot's overlays, a checkpoint's
 * bitmaps hold a view taken after the thaw, not a quiesced one), refused it (nothing created), or
 * undefined: unknown. `snapshotTaken` is the same, under its name from before checkpoints.
 */
export class FreezeTimeoutError extends QmpError {
  readonly freezeTimeoutMs: number;
  readonly made: Made;
  readonly taken: boolean | undefined;
  readonly snapshotTaken: boolean | undefined;
  /** The new active images when a snapshot was taken; the images holding the new bitmaps for a checkpoint. */
  readonly overlays: readonly string[];
  constructor(
    freezeTimeoutMs: number,
    outcome: { taken: true; overlays: readonly string[] } | { taken: false } | { taken: undefined },
    options?: QmpErrorOptions,
    made: Made = 'snapshot',
  ) {
    const files = outcome.taken === true ? outcome.overlays : [];
    const after =
      outcome.taken === true
        ? made === 'snapshot'
          ? `QEMU then took the snapshot, not quiesced: the guest runs on ${files.join(', ')} — do not delete ${files.length > 1 ? 'them' : 'it'}`
          : `QEMU then created the checkpoint, not quiesced: it starts after the thaw, in ${files.join(', ')}`
        : outcome.taken === false
          ? 'QEMU then refused it: nothing was created'
          : made === 'snapshot'
            ? 'whether the overlays were created is unknown: check the chain'
            : 'whether the checkpoint was created is unknown: check with checkpoint list';
    super(`the guest was thawed after ${freezeTimeoutMs} ms frozen, before QEMU answered the ${made} transaction; ${after}`, options);
    this.freezeTimeoutMs = freezeTimeoutMs;
    this.made = made;
    this.taken = outcome.taken;
    this.snapshotTaken = outcome.taken;
    this.overlays = files;
  }
}

/** Thawing failed: the guest may still be frozen. `taken` (`snapshotTaken`, its older name) says whether the transaction succeeded. */
export class GuestThawError extends GuestAgentError {
  readonly taken: boolean;
  readonly snapshotTaken: boolean;
  constructor(target: string, snapshotTaken: boolean, message: string, options?: QmpErrorOptions, made: Made = 'snapshot') {
    super(
      target,
      `${message}; the guest may still be frozen: run guest-fsfreeze-thaw (virsh domfsthaw). The ${made} was ${snapshotTaken ? '' : 'not '}${made === 'snapshot' ? 'taken' : 'created'}`,
      options,
    );
    this.taken = snapshotTaken;
    this.snapshotTaken = snapshotTaken;
  }
}

async function describeFilesystems(agent: GuestAgent, signal: AbortSignal | undefined): Promise<string[]> {
  try {
    const info = await agent.execute('guest-get-fsinfo', undefined, { timeoutMs: DEFAULT_AGENT_TIMEOUT_MS, signal });
    if (!Array.isArray(info)) return [];
    return info.filter(isJsonObject).map((fs) => {
      const disks = Array.isArray(fs.disk)
        ? fs.disk
            .filter(isJsonObject)
            .map((d) => String(d.dev ?? d.target ?? '?'))
            .join(',')
        : '';
      return `${String(fs.mountpoint)} (${String(fs.type)} on ${disks || String(fs.name)})`;
    });
  } catch (error) {
    if (error instanceof GuestAgentCommandError) return []; // An agent without guest-get-fsinfo still freezes.
    throw error;
  }
}

/** Thaws, retrying within `timeoutMs` (each attempt reconnects if the last one broke the connection). */
async function thaw(agent: GuestAgent, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    try {
      await agent.execute('guest-fsfreeze-thaw', undefined, { timeoutMs: left });
      const status = await agent.execute('guest-fsfreeze-status', undefined, { timeoutMs: Math.max(1, deadline - Date.now()) });
      if (status === 'thawed') return;
      last = new Error(`guest-fsfreeze-status says '${String(status)}' after the thaw`);
    } catch (error) {
      last = error;
    }
  }
  throw last instanceof Error ? last : new Error(String(last));
}

/**
 * Runs `transaction` (a snapshot or checkpoint creation, which calls the hook it is given right
 * before sending its QMP transaction) with the guest frozen through `options.agent` around that
 * transaction, and thaws on every way out. Every check of `transaction` runs before the freeze.
 */
async function whileFrozen<T>(
  made: Made,
  options: QuiesceOptions,
  transaction: (beforeTransaction: () => Promise<void>, signal: AbortSignal) => Promise<T>,
  files: (value: T) => string[],
): Promise<Quiesced & { value: T }> {
  const { agent } = options;
  const freezeTimeoutMs = options.freezeTimeoutMs ?? 10_000;
  const filesystems = await describeFilesystems(agent, options.signal);
  const bound = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, bound.signal]) : bound.signal;
  let timer: LongTimer | undefined;
  let freezeSent = false;
  let frozenAt = 0;
  let frozenCount = 0;
  let value: { v: T } | undefined;
  let failure: unknown;
  const beforeTransaction = async (): Promise<void> => {
    if (signal.aborted) throw new AbortedError(`quiesced ${made}`, { cause: signal.reason });
    frozenAt = Date.now();
    timer = setLongTimeout(() => bound.abort(new Error(`frozen for ${freezeTimeoutMs} ms`)), freezeTimeoutMs);
    // Counted as frozen from the request on: an agent that answers late may still freeze.
    freezeSent = true;
    try {
      const count = await agent.execute('guest-fsfreeze-freeze', undefined, { timeoutMs: freezeTimeoutMs, signal });
      frozenCount = typeof count === 'number' ? count : 0;
    } catch (error) {
      throw new GuestFreezeError(
        agent.target,
        `guest-fsfreeze-freeze failed, no ${made} ${made === 'snapshot' ? 'taken' : 'created'}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  };
  const running = transaction(beforeTransaction, signal).then(
    (v) => {
      value = { v };
    },
    (error: unknown) => {
      failure = error;
    },
  );
  // The bound thaws the guest while a transaction already sent is still awaited.
  const boundHit = new Promise<'bound'>((resolve) => bound.signal.addEventListener('abort', () => resolve('bound'), { once: true }));
  const first = await Promise.race([running.then(() => 'answered' as const), boundHit]);
  timer?.clear();
  if (freezeSent) {
    try {
      await thaw(agent, options.thawTimeoutMs ?? DEFAULT_AGENT_TIMEOUT_MS);
    } catch (error) {
      if (first === 'bound') await running;
      throw new GuestThawError(agent.target, value !== undefined, `guest-fsfreeze-thaw failed: ${(error as Error).message}`, { cause: failure ?? error }, made);
    }
  }
  if (first === 'bound') {
    await running; // its own command timeout bounds it
    if (failure instanceof GuestFreezeError) throw failure;
    const unknown = failure instanceof SnapshotOutcomeUnknownError || failure instanceof CommandOutcomeUnknownError;
    const outcome = value !== undefined ? { taken: true as const, overlays: files(value.v) } : unknown ? { taken: undefined } : { taken: false as const };
    throw new FreezeTimeoutError(freezeTimeoutMs, outcome, { cause: failure }, made);
  }
  if (failure !== undefined || value === undefined) throw failure;
  const frozenMs = Date.now() - frozenAt;
  return { value: value.v, filesystems: filesystems.length ? filesystems : [`${frozenCount} filesystem(s)`], frozenCount, frozenMs };
}

/**
 * createSnapshots with the guest's filesystems frozen through `agent` around the transaction.
 * Every check runs before the freeze; an agent that is missing or does not answer is an error
 * before anything is created (GuestAgentUnavailableError, GuestFreezeError).
 */
export async function createQuiescedSnapshots(client: BlockQueryClient, specs: readonly SnapshotSpec[], options: QuiesceOptions): Promise<QuiescedSnapshots> {
  const { value, ...quiesced } = await whileFrozen(
    'snapshot',
    options,
    (beforeTransaction, signal) => createSnapshots(client, specs, { ...options, signal, beforeTransaction }),
    (chains) => chains.map((c) => c.layers.at(-1)?.file ?? '?'),
  );
  return { chains: value, ...quiesced };
}

/**
 * createCheckpoint with the guest's filesystems frozen through `agent` around its transaction, so
 * the checkpoint marks a consistent instant of every disk. Refused, with nothing created, as
 * createQuiescedSnapshots is.
 */
export async function createQuiescedCheckpoint(
  client: BlockQueryClient,
  name: string,
  options: QuiesceOptions & Omit<CheckpointOptions, 'beforeTransaction'>,
): Promise<QuiescedCheckpoint> {
  const { value, ...quiesced } = await whileFrozen(
    'checkpoint',
    options,
    (beforeTransaction, signal) => createCheckpoint(client, name, { ...options, signal, beforeTransaction }),
    (disks) => disks.map((d) => d.layers.at(-1)?.file ?? '?'),
  );
  return { disks: value, ...quiesced };
}
