/*
 * Every record `--json` prints: one JSON object per line on stdout, told apart by `type`. This file
 * is the one place they are defined; schema/cli-records.schema.json is made from `CliRecord`
 * (`npm run schema`, and a unit test fails when the two differ). docs/cli.md, "Output".
 */
import type { DiskChain } from '../block/types.js';
import type { JobPlan } from '../jobs/plan.js';
import type { JobOutcome, JobTimings } from '../jobs/types.js';
import type { NodeCleanup } from '../jobs/graph-hygiene.js';
import type { BlockIoThrottle, JobStatus, QmpTimestamp } from '../qapi/types.js';
import type { BlockGraph } from '../block/graph.js';
import type { DiskCheckpoints } from '../block/checkpoints.js';
import type { TraceDifference } from '../trace/diff.js';

/** A QMP event of the command's own job(s), or every event for `events`. */
export interface EventRecord {
  type: 'event';
  event: string;
  data: Record<string, unknown>;
  timestamp: QmpTimestamp;
}

/** virsh's closing words ("Successfully pivoted", "Commit complete", "Block Pull started"). */
export interface MessageRecord {
  type: 'message';
  message: string;
}

/** A job's progress (display only: 100 % is not READY). */
export interface ProgressRecord {
  type: 'progress';
  percent: number;
  job?: string;
  offset?: number;
  len?: number;
  status?: JobStatus;
  speed?: number;
}

/** A commit started (one per disk of a group commit). */
export interface CommitStartedRecord {
  type: 'started';
  job: string;
  disk: string;
  top: string;
  base: string;
  active: boolean;
}

/** A pull started: `base` null when the whole chain is pulled in. */
export interface PullStartedRecord {
  type: 'started';
  job: string;
  disk: string;
  base: string | null;
  pulled: string[];
}

/** A copy started. */
export interface CopyStartedRecord {
  type: 'started';
  job: string;
  disk: string;
  dest: string;
  format: 'raw' | 'qcow2';
  shallow: boolean;
  created: boolean;
  node: string | null;
}

/** A backup started (one per disk): its new file, and the checkpoints it reads since and starts. */
export interface BackupStartedRecord {
  type: 'started';
  job: string;
  disk: string;
  target: string;
  incremental: string | null;
  checkpoint: string | null;
}

export type StartedRecord = CommitStartedRecord | PullStartedRecord | CopyStartedRecord | BackupStartedRecord;

/** How a job ended: as asked (with its timings), or not (`reason`, `error`), or a group member (`where`). */
export interface ResultRecord {
  type: 'result';
  job: string;
  /** The disk, as the user named it (group commit). */
  disk?: string;
  outcome: JobOutcome | 'not started';
  states?: JobStatus[];
  timings?: JobTimings;
  nodes?: NodeCleanup;
  /** Why the job was aborted: "timeout of 5 s reached", "interrupted", "cancelled by someone else". */
  reason?: string;
  /** QEMU's error text of a failed job. */
  error?: string;
  /** A group member: where its data is now, in words. */
  where?: string;
  /** A copy's destination file and what became of its node. */
  dest?: string | null;
  node?: string | null;
  /** The images the job took out of the disk's chain (pull, copy). */
  leftChain?: readonly string[];
  /** A backup's new file, and the checkpoint it started (kept only when every disk's backup completed). */
  target?: string;
  checkpoint?: { name: string; kept: boolean };
}

/** `checkpoint list`: per disk, its images and the bitmaps each holds. */
export interface CheckpointsRecord {
  type: 'checkpoints';
  disks: DiskCheckpoints[];
}

/** `checkpoint create NAME`: the disks it started on, with the image that holds it. */
export interface CheckpointRecord {
  type: 'checkpoint';
  name: string;
  disks: Array<{ disk: string; file: string | undefined }>;
}

/** `checkpoint delete NAME`: where it was removed from and what it was merged into. */
export interface CheckpointDeletedRecord {
  type: 'checkpoint-deleted';
  name: string;
  disks: Array<{ disk: string; removedFrom: string[]; mergedInto: string | undefined }>;
}

/** A commit's images no longer valid on their own, and those --delete removed. */
export interface InvalidatedRecord {
  type: 'invalidated';
  disk?: string;
  files: readonly string[];
  stillValid: readonly string[];
  deleted: readonly string[];
}

/** The images `pull --delete` removed. */
export interface DeletedRecord {
  type: 'deleted';
  files: readonly string[];
}

/** How a group commit ended. */
export interface GroupRecord {
  type: 'group';
  pivoted: boolean;
  disks: string[];
  sentWithinMs?: number;
  concludedSpreadMs?: number;
  reason?: string;
}

/** A row of `jobs`. */
export interface JobRowRecord {
  type: 'job';
  id: string;
  jobType: string;
  status: JobStatus;
  current: number;
  total: number;
  percent: number;
  speed: number;
  ready: boolean;
  error?: string;
  /** It had concluded and `jobs` dismissed it. */
  dismissed: boolean;
}

/** The end of `jobs`' list: always printed, so no jobs is a record too. */
export interface JobsRecord {
  type: 'jobs';
  count: number;
}

/** `job DISK --info` finding no job, or a job that had concluded with nobody watching (then dismissed). */
export interface JobStatusRecord {
  type: 'job';
  disk: string;
  job: string | null;
  status?: 'concluded';
  error?: string | null;
  dismissed?: boolean;
}

/** `--dry-run`: the plan. */
export type PlanRecord = Pick<
  JobPlan,
  'type' | 'job' | 'disk' | 'copyBytes' | 'qemuLen' | 'invalidated' | 'stillValid' | 'leavesChain' | 'reasons' | 'etaSeconds' | 'notes'
> & {
  layers: Array<Pick<JobPlan['layers'][number], 'file' | 'node' | 'index' | 'allocatedBytes' | 'extents'>>;
  /** Which persistent bitmaps move where (merged from the images that leave into the one that stays). */
  bitmaps?: Array<{ name: string; from: string[]; to: string; create: boolean; disabled: boolean }>;
};

/** `backup … --dry-run`: what the backup of one disk would do (BackupJob.plan). */
export interface BackupPlanRecord {
  type: 'backup-plan';
  job: 'backup';
  /** The disk as the user named it. */
  disk: string;
  jobId: string;
  target: string;
  sync: 'full' | 'incremental';
  /** The checkpoint an incremental backup starts from. */
  incremental: string | null;
  /** That checkpoint's bitmaps down the chain, merged into the one the job reads. */
  bitmaps: Array<{ file: string; node: string; dirtyBytes: number }>;
  /** The disk for a full backup; for an incremental, the bitmaps' sum, capped at the disk. */
  copyBytesAtMost: number;
  virtualSize: number;
  /** The checkpoint started at the same instant, on the disk's active image. */
  checkpoint: { name: string; file: string; node: string } | null;
}

/** `--converge`: the job stopped converging. */
export interface ConvergenceRecord {
  type: 'convergence';
  converging: false;
  guestBytesPerSecond: number;
  copyBytesPerSecond: number;
  remainingBytes: number;
}

/** A waited-for job stopped on an I/O error (on-error stop): paused until resumed or aborted; the command keeps waiting. */
export interface ErrorStopRecord {
  type: 'error-stop';
  job: string;
  disk: string;
  operation: 'read' | 'write';
  /** The image the guest runs on (with all its data) while the job is stopped, when known. */
  guestImage?: string;
  /** What to type next (resume or abort). */
  next: string;
}

/** `--converge throttle=N`: the guest's writes are limited now. */
export interface ThrottlingRecord {
  type: 'throttling';
  bytesPerSecond?: number;
}

/** `--converge throttle=N`: how long the limit held, and that the previous limits are back. */
export interface ThrottleRecord {
  type: 'throttle';
  bytesPerSecond: number;
  seconds: number;
  /** The guest's I/O limits set back (block_set_io_throttle). */
  restored: BlockIoThrottle;
}

/** `snapshot --quiesce`: what was frozen. */
export interface QuiescedRecord {
  type: 'quiesced';
  filesystems: string[];
  frozenCount: number;
  frozenMs: number;
}

/** A snapshot taken: the disk's new chain. */
export interface SnapshotRecord {
  type: 'snapshot';
  disk?: string;
  chain: DiskChain;
}

/** A disk of `blocks`. */
export type DiskRecord = DiskChain & {
  type: 'disk';
  target: string;
  source?: string;
};

/** `chain DISK`: its layers, active first. */
export interface ChainRecord {
  type: 'chain';
  disk: string;
  device: string;
  layers: DiskChain['layers'];
}

/** `events`: listening from now on. */
export interface ListeningRecord {
  type: 'listening';
  peer: string;
}

/** `qmp`: QEMU's answer. */
export interface ReplyRecord {
  type: 'reply';
  command: string;
  return?: unknown;
  error?: { class: string; desc: string };
}

/** A step of `demo`. */
export interface DemoRecord {
  type: 'demo';
  step?: string;
  ms?: number;
  fallback?: string;
  kept?: string;
  chain?: DiskChain;
  states?: JobStatus[];
}

/** Every line `--json` prints. */
// The picture commands (graph, trace diff, trace view, commit --dry-run --format).
/** `graph --json`: the whole graph (or DISK's part of it) in one line. */
export interface GraphRecord extends BlockGraph {
  type: 'graph';
  /** The DISK asked for, when one was. */
  disk?: string;
}

/** `trace diff A B --json`: whether they differ, and each difference in order. */
export interface TraceDiffRecord {
  type: 'trace-diff';
  a: string;
  b: string;
  same: boolean;
  /** Steps compared (after normalisation) on each side. */
  steps: { a: number; b: number };
  differences: TraceDifference[];
}

/** `trace view FILE -o OUT --json` and `commit --dry-run --format svg|html -o OUT --json`: what was written. */
export interface PictureWrittenRecord {
  type: 'picture';
  format: 'html' | 'svg';
  file: string;
  bytes: number;
}

export type CliRecord =
  | EventRecord
  | MessageRecord
  | ProgressRecord
  | StartedRecord
  | ResultRecord
  | InvalidatedRecord
  | DeletedRecord
  | GroupRecord
  | JobRowRecord
  | JobsRecord
  | JobStatusRecord
  | PlanRecord
  | BackupPlanRecord
  | ConvergenceRecord
  | ErrorStopRecord
  | ThrottlingRecord
  | ThrottleRecord
  | QuiescedRecord
  | SnapshotRecord
  | DiskRecord
  | ChainRecord
  | ListeningRecord
  | ReplyRecord
  | DemoRecord
  | GraphRecord
  | TraceDiffRecord
  | PictureWrittenRecord
  | CheckpointsRecord
  | CheckpointRecord
  | CheckpointDeletedRecord;
