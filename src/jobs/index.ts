// The job layer: live block-commit driven by its own events.
export {
  CommitJob,
  defaultCommitJobId,
  findDiskJob,
  hasUser,
  relativeBackingFile,
  type CommitOptions,
  type CommitOnError,
  type CommitResult,
  type CommitTimings,
  type JobProgress,
  type AttachTarget,
  type AttachOptions,
} from './commit.js';
export {
  JobStateMachine,
  JOB_TRANSITIONS,
  JOB_EVENT_NAMES,
  isJobStatus,
  isValidTransition,
  type JobStateChange,
  type JobStateEvents,
  type JobIoError,
  type JobEnding,
  type TransitionAnomaly,
} from './state.js';
export { invalidatedBy, deleteInvalidated, type CommitOutcome, type DeletableResult } from './invalidated.js';
export {
  JobError,
  JobOptionError,
  JobCommandError,
  JobAlreadyRunningError,
  JobNotFoundError,
  JobStateError,
  JobFailedError,
  JobVanishedError,
  JobInterruptedError,
  type JobErrorContext,
} from './errors.js';
