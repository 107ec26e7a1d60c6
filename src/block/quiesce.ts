/*
 * Quiesced snapshots (virsh snapshot-create-as --quiesce): the guest's filesystems are frozen
 * through qemu-guest-agent, the atomic snapshot transaction runs, and the guest is thawed, on
 * every way out (success, QEMU's error, abort, timeout, a lost QMP connection). The freeze is
 * bounded: past `freezeTimeoutMs` the guest is thawed, because a frozen guest blocks every writer
 * inside it. A transaction already sent is still never given up on (src/protocol/in-flight.ts):
 * its reply, awaited after the thaw, says whether the overlays exist.
 */
import { AbortedError, QmpError, type QmpErrorOptions } from '../errors.js';
import { SnapshotOutcomeUnknownError } from './errors.js';
import { setLongTimeout, type LongTimer } from '../util/timers.js';
import { isJsonObject } from '../util/json.js';
import type { BlockQueryClient } from './chain.js';
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

export interface QuiescedSnapshots {
  chains: DiskChain[];
  /** The filesystems the agent froze, as "mountpoint (type on device)" when it tells, else their count. */
  filesystems: string[];
  frozenCount: number;
  /** From the freeze request to the thaw's answer. */
  frozenMs: number;
}

/** The guest could not be frozen; nothing was created. */
export class GuestFreezeError extends GuestAgentError {}

/**
 * QEMU had not answered the transaction within the freeze bound: the guest was thawed then, and
 * the reply awaited after. `snapshotTaken`: QEMU then took the snapshot (its overlays hold a view
 * taken after the thaw, not a quiesced one), refused it (nothing created), or undefined: unknown.
 */
export class FreezeTimeoutError extends QmpError {
  readonly freezeTimeoutMs: number;
  readonly snapshotTaken: boolean | undefined;
  /** The new active images when the snapshot was taken. */
  readonly overlays: readonly string[];
  constructor(
    freezeTimeoutMs: number,
    outcome: { taken: true; overlays: readonly string[] } | { taken: false } | { taken: undefined },
    options?: QmpErrorOptions,
  ) {
    const after =
      outcome.taken === true
        ? `QEMU then took the snapshot, not quiesced: the guest runs on ${outcome.overlays.join(', ')} — do not delete ${outcome.overlays.length > 1 ? 'them' : 'it'}`
        : outcome.taken === false
          ? 'QEMU then refused it: nothing was created'
          : 'whether the overlays were created is unknown: check the chain';
    super(`the guest was thawed after ${freezeTimeoutMs} ms frozen, before QEMU answered the snapshot transaction; ${after}`, options);
    this.freezeTimeoutMs = freezeTimeoutMs;
    this.snapshotTaken = outcome.taken;
    this.overlays = outcome.taken === true ? outcome.overlays : [];
  }
}

/** Thawing failed: the guest may still be frozen. `snapshotTaken` says whether the transaction succeeded. */
export class GuestThawError extends GuestAgentError {
  readonly snapshotTaken: boolean;
  constructor(target: string, snapshotTaken: boolean, message: string, options?: QmpErrorOptions) {
    super(
      target,
      `${message}; the guest may still be frozen: run guest-fsfreeze-thaw (virsh domfsthaw). The snapshot was ${snapshotTaken ? '' : 'not '}taken`,
      options,
    );
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
 * createSnapshots with the guest's filesystems frozen through `agent` around the transaction.
 * Every check runs before the freeze; an agent that is missing or does not answer is an error
 * before anything is created (GuestAgentUnavailableError, GuestFreezeError).
 */
export async function createQuiescedSnapshots(client: BlockQueryClient, specs: readonly SnapshotSpec[], options: QuiesceOptions): Promise<QuiescedSnapshots> {
  const { agent } = options;
  const freezeTimeoutMs = options.freezeTimeoutMs ?? 10_000;
  const filesystems = await describeFilesystems(agent, options.signal);
  const bound = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, bound.signal]) : bound.signal;
  let timer: LongTimer | undefined;
  let freezeSent = false;
  let frozenAt = 0;
  let frozenCount = 0;
  let chains: DiskChain[] | undefined;
  let failure: unknown;
  const transaction = createSnapshots(client, specs, {
    ...options,
    signal,
    beforeTransaction: async () => {
      if (signal.aborted) throw new AbortedError('quiesced snapshot', { cause: signal.reason });
      frozenAt = Date.now();
      timer = setLongTimeout(() => bound.abort(new Error(`frozen for ${freezeTimeoutMs} ms`)), freezeTimeoutMs);
      // Counted as frozen from the request on: an agent that answers late may still freeze.
      freezeSent = true;
      try {
        const count = await agent.execute('guest-fsfreeze-freeze', undefined, { timeoutMs: freezeTimeoutMs, signal });
        frozenCount = typeof count === 'number' ? count : 0;
      } catch (error) {
        throw new GuestFreezeError(agent.target, `guest-fsfreeze-freeze failed, no snapshot taken: ${(error as Error).message}`, { cause: error });
      }
    },
  }).then(
    (c) => {
      chains = c;
    },
    (error: unknown) => {
      failure = error;
    },
  );
  // The bound thaws the guest while a transaction already sent is still awaited.
  const boundHit = new Promise<'bound'>((resolve) => bound.signal.addEventListener('abort', () => resolve('bound'), { once: true }));
  const first = await Promise.race([transaction.then(() => 'answered' as const), boundHit]);
  timer?.clear();
  if (freezeSent) {
    try {
      await thaw(agent, options.thawTimeoutMs ?? DEFAULT_AGENT_TIMEOUT_MS);
    } catch (error) {
      if (first === 'bound') await transaction;
      throw new GuestThawError(agent.target, chains !== undefined, `guest-fsfreeze-thaw failed: ${(error as Error).message}`, { cause: failure ?? error });
    }
  }
  if (first === 'bound') {
    await transaction; // its own command timeout bounds it
    if (failure instanceof GuestFreezeError) throw failure;
    const outcome =
      chains !== undefined
        ? { taken: true as const, overlays: chains.map((c) => c.layers.at(-1)?.file ?? '?') }
        : failure instanceof SnapshotOutcomeUnknownError
          ? { taken: undefined }
          : { taken: false as const };
    throw new FreezeTimeoutError(freezeTimeoutMs, outcome, { cause: failure });
  }
  if (failure !== undefined || chains === undefined) throw failure;
  const frozenMs = Date.now() - frozenAt;
  return { chains, filesystems: filesystems.length ? filesystems : [`${frozenCount} filesystem(s)`], frozenCount, frozenMs };
}
