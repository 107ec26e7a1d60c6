// The front door of qmp-blockjob: what docs/api.md documents. Tests and tools that need more use
// qmp-blockjob/internal; process launchers for tests are in qmp-blockjob/testing.
export { connect, type ConnectTarget } from './connect.js';
export {
  QmpClient,
  ConnectionState,
  type QmpClientOptions,
  type QmpClientEvents,
  type CommandOptions,
  type EventWaitOptions,
  type EventStreamOptions,
  type TrafficDirection,
  type TrafficSink,
} from './protocol/client.js';
// Every error class a path of the front door can throw is here, so a caller can catch it by name.
export {
  QmpError,
  ConnectError,
  MonitorBusyError,
  ProtocolError,
  MalformedMessageError,
  OversizedMessageError,
  NotQmpServerError,
  EventOverflowError,
  QmpCommandError,
  ConnectionClosedError,
  CommandNotSentError,
  CommandOutcomeUnknownError,
  StateError,
  QmpTimeoutError,
  AbortedError,
  MonitorUnresponsiveError,
  type QmpErrorOptions,
} from './errors.js';
export type { Transport, TransportHandlers, ConnectOptions } from './transport/transport.js';
export type { SocketAddress } from './transport/socket.js';
export type { VirshTransportOptions } from './transport/virsh/transport.js';
export type * from './qapi/types.js';
export { isEvent } from './qapi/types.js';
export { commandHasArgument } from './protocol/capabilities.js';
export type { WaitOptions } from './util/wait.js';
export type { LivenessOptions } from './protocol/liveness.js';
export { listDisks, resolveDisk, findDisk, diskLabel, type BlockQueryClient, type ChainQueryOptions } from './block/chain.js';
export { resolveCommitRange, resolvePullRange, type CommitRangeSpec } from './block/address.js';
export { createSnapshots, type SnapshotSpec, type SnapshotOptions } from './block/snapshot.js';
export { createCheckpoint, listCheckpoints, deleteCheckpoint, CheckpointError, type CheckpointOptions, type DiskCheckpoints } from './block/checkpoints.js';
export { BitmapNotUsableError, type DirtyBitmap } from './block/bitmaps.js';
export type { ChainLayer, DiskChain, CommitRange, PullRange, InvalidatedImages } from './block/types.js';
// Errors a caller catches by name; the rest (and these) are BlockError / JobError, all QmpError.
export {
  BlockError,
  DiskNotFoundError,
  ChainResolutionError,
  ImageNotInChainError,
  InvalidCommitRangeError,
  ConflictingArgumentsError,
  ChainChangedError,
  SnapshotTargetExistsError,
  InvalidSnapshotSpecError,
  SnapshotOutcomeUnknownError,
  type InvalidRangeReason,
} from './block/errors.js';
export { CommitJob, type CommitResult, type AttachTarget } from './jobs/commit.js';
export { StreamJob, type PullOptions } from './jobs/stream.js';
export { MirrorJob, type MirrorResult, type MirrorDestination } from './jobs/mirror.js';
export { BackupJob, type BackupSpec, type BackupOptions, type BackupResult } from './jobs/backup.js';
export type { MirrorTarget, MirrorOptions, CopyMode } from './jobs/mirror-options.js';
export type { CommitOptions, CommitOnError } from './jobs/commit-options.js';
export type { JobOutcome, JobResult, JobTimings, JobProgress, ProgressOptions, AttachOptions } from './jobs/types.js';
export type { JobStateChange, JobStateEvents, JobIoError, TransitionAnomaly } from './jobs/state.js';
export { invalidatedBy } from './jobs/invalidated.js';
export { deleteCommittedImages } from './jobs/delete.js';
export {
  JobError,
  JobOptionError,
  JobCommandError,
  JobAlreadyRunningError,
  JobNotFoundError,
  JobStateError,
  JobFailedError,
  JobInterruptedError,
  JobVanishedError,
  JobStartUnknownError,
  JobUnsupportedError,
  GroupPivotError,
  ImageDeletionError,
  MirrorTargetError,
  type JobErrorContext,
  type InterruptionFacts,
} from './jobs/errors.js';
