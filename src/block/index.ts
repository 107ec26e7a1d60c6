// The block layer: disks and their live chains, naming images, live external snapshots.
export type { ChainLayer, DiskChain, CommitRange, PullRange, InvalidatedImages } from './types.js';
export {
  listDisks,
  resolveDisk,
  findDisk,
  diskLabel,
  diskNames,
  describeDisk,
  hasUser,
  findSameDisk,
  disksFromQueries,
  realFileName,
  isFilterDriver,
  type BlockQueryClient,
  type ChainQueryOptions,
} from './chain.js';
export { resolveLayer, resolveCommitRange, resolvePullRange, validateRangeSpec, layersBetween, positionOf, type CommitRangeSpec } from './address.js';
export { readChainAllocation, heldExtents, layerImageSpec, type LayerAllocation } from './allocation.js';
export { union, subtract, totalBytes, normalise, type Extent } from './extents.js';
export { readIoLimits, setIoLimits, withWriteLimit, guestWrittenBytes } from './guest-io.js';
export { createSnapshots, localTargetFiles, type SnapshotSpec, type SnapshotOptions, type TargetFiles } from './snapshot.js';
export {
  readBitmaps,
  planBitmapMoves,
  bitmapMoveActions,
  snapshotBitmapActions,
  carryBitmaps,
  checkBitmapMoves,
  describeBitmapMoves,
  BitmapNotUsableError,
  type DirtyBitmap,
  type BitmapMove,
  type BitmapHolder,
  type BitmapsByNode,
} from './bitmaps.js';
export { createCheckpoint, listCheckpoints, deleteCheckpoint, CheckpointError, type CheckpointOptions, type DiskCheckpoints } from './checkpoints.js';
export * from './errors.js';
export {
  connectGuestAgent,
  VirshGuestAgent,
  GuestAgentError,
  GuestAgentUnavailableError,
  GuestAgentCommandError,
  type GuestAgent,
  type AgentCallOptions,
} from './guest-agent.js';
export {
  createQuiescedSnapshots,
  createQuiescedCheckpoint,
  GuestFreezeError,
  FreezeTimeoutError,
  GuestThawError,
  type QuiesceOptions,
  type Quiesced,
  type QuiescedSnapshots,
  type QuiescedCheckpoint,
} from './quiesce.js';
