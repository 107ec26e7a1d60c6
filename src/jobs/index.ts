// The job layer: live block-commit, block-stream and blockdev-mirror, driven by their own events.
export { CommitJob, type CommitResult, type AttachTarget } from './commit.js';
export { assertOnError, assertPivotable, relativeBackingFile, type CommitOptions, type CommitOnError } from './commit-options.js';
export { BlockJob } from './core.js';
export { StreamJob, relativePullBacking, type PullOptions } from './stream.js';
export { BackupJob, type BackupSpec, type BackupOptions, type BackupResult } from './backup.js';
export { MirrorJob, type MirrorResult, type MirrorDestination } from './mirror.js';
export {
  planMirror,
  mirrorArguments,
  targetNodeName,
  type MirrorTarget,
  type MirrorOptions,
  type MirrorPlan,
  type CopyMode,
  type DestinationImage,
} from './mirror-options.js';
export type { TargetNodeFate } from './mirror-target.js';
export type { JobOutcome, JobResult, JobTimings, JobProgress, AttachOptions } from './types.js';
export {
  JobStateMachine,
  JOB_TRANSITIONS,
  JOB_EVENT_NAMES,
  isJobStatus,
  isValidTransition,
  withoutBlips,
  type JobStateChange,
  type JobStateEvents,
  type JobIoError,
  type JobEnding,
  type TransitionAnomaly,
} from './state.js';
export { defaultCommitJobId, defaultPullJobId, defaultCopyJobId, findDiskJob, isActiveCommit } from './discovery.js';
export { planCommit, planPull, type JobPlan, type PlanLayer } from './plan.js';
export { pivotTogether, type GroupPivotOptions, type GroupPivotResult } from './group.js';
export { ConvergenceTracker, type ConvergenceVerdict, type ProgressSample } from './convergence.js';
export { ConvergenceGuard, type ConvergenceGuardOptions, type ConvergenceReport } from './convergence-guard.js';
export { invalidatedBy } from './invalidated.js';
export { deleteCommittedImages, type DeletableResult } from './delete.js';
export * from './errors.js';
