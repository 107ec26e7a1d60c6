/*
 * Types for the subset of QMP this project speaks, written from QEMU's QAPI schema
 * (qapi/block-core.json, qapi/job.json, qapi/transaction.json, qapi/control.json,
 * qapi/misc.json, qapi/run-state.json) as of QEMU 7.2, with later optional members
 * marked optional. Names keep QEMU's spelling (kebab-case members) so they map 1:1 to the wire.
 */

// ---------------------------------------------------------------- greeting & basics

export interface VersionTriple {
  major: number;
  minor: number;
  micro: number;
}

export interface VersionInfo {
  qemu: VersionTriple;
  package: string;
}

export type QmpCapability = 'oob';

export interface QmpGreeting {
  QMP: {
    version: VersionInfo;
    capabilities: string[];
  };
}

export type RunState =
  | 'debug'
  | 'inmigrate'
  | 'internal-error'
  | 'io-error'
  | 'paused'
  | 'postmigrate'
  | 'prelaunch'
  | 'finish-migrate'
  | 'restore-vm'
  | 'running'
  | 'save-vm'
  | 'shutdown'
  | 'suspended'
  | 'watchdog'
  | 'guest-panicked'
  | 'colo';

export interface StatusInfo {
  running: boolean;
  /** Gone in QEMU 10 (7.2 sends it). */
  singlestep?: boolean;
  status: RunState;
}

// ---------------------------------------------------------------- block devices

export interface ImageInfo {
  filename: string;
  format: string;
  'dirty-flag'?: boolean;
  'actual-size'?: number;
  'virtual-size': number;
  'cluster-size'?: number;
  encrypted?: boolean;
  compressed?: boolean;
  'backing-filename'?: string;
  'full-backing-filename'?: string;
  'backing-filename-format'?: string;
  'backing-image'?: ImageInfo;
  /** On format nodes; QEMU 10 also puts it on file nodes ({ type: 'file', data: {} }). */
  'format-specific'?: Record<string, unknown>;
}

/** The six base I/O limits (bytes and operations per second, 0 = none), as QEMU reports and takes them. */
export interface BlockIoLimits {
  bps: number;
  bps_rd: number;
  bps_wr: number;
  iops: number;
  iops_rd: number;
  iops_wr: number;
}

/** One block node as `query-named-block-nodes` and `query-block`'s `inserted` report it. */
export interface BlockDeviceInfo extends BlockIoLimits {
  file: string;
  'node-name'?: string;
  ro: boolean;
  drv: string;
  backing_file?: string;
  backing_file_depth: number;
  encrypted: boolean;
  detect_zeroes: 'off' | 'on' | 'unmap';
  image: ImageInfo;
  cache: { writeback: boolean; direct: boolean; 'no-flush': boolean };
  write_threshold: number;
  /** QEMU 10 (absent on 7.2): false while the node is inactive (e.g. after migration). Not read by this library. */
  active?: boolean;
  [member: string]: unknown;
}

/**
 * A device's I/O limits (QAPI BlockIOThrottle): the six base limits are required, the burst
 * (`*_max`, `*_max_length`), `iops_size` and `group` are optional; query-block's `inserted` has them
 * under the same names.
 */
export interface BlockIoThrottle extends BlockIoLimits {
  /** The guest device's qdev id or QOM path. */
  id?: string | undefined;
  bps_max?: number | undefined;
  bps_rd_max?: number | undefined;
  bps_wr_max?: number | undefined;
  iops_max?: number | undefined;
  iops_rd_max?: number | undefined;
  iops_wr_max?: number | undefined;
  bps_max_length?: number | undefined;
  bps_rd_max_length?: number | undefined;
  bps_wr_max_length?: number | undefined;
  iops_max_length?: number | undefined;
  iops_rd_max_length?: number | undefined;
  iops_wr_max_length?: number | undefined;
  iops_size?: number | undefined;
  group?: string | undefined;
}

/** One device's I/O counters (query-blockstats): what the guest read and wrote since start. */
export interface BlockStats {
  device?: string;
  /** The guest device's QOM path. */
  qdev?: string;
  'node-name'?: string;
  stats: { rd_bytes: number; wr_bytes: number; [member: string]: unknown };
  [member: string]: unknown;
}

export type BlockDeviceIoStatus = 'ok' | 'failed' | 'nospace';

export interface BlockInfo {
  /** The -drive id; empty for devices attached to a -blockdev node. */
  device: string;
  /** QOM path of the guest device, e.g. "/machine/peripheral/vda/virtio-backend". */
  qdev?: string;
  type: string;
  removable: boolean;
  locked: boolean;
  inserted?: BlockDeviceInfo;
  tray_open?: boolean;
  'io-status'?: BlockDeviceIoStatus;
  [member: string]: unknown;
}

/** qapi/block-export.json BlockExportInfo (QEMU ≥ 5.2): an NBD, vhost-user-blk or FUSE export of a node. */
export interface BlockExportInfo {
  id: string;
  type: string;
  /** The node the export serves (a filter above the image while a job runs). */
  'node-name': string;
  'shutting-down': boolean;
  [member: string]: unknown;
}

// ---------------------------------------------------------------- jobs

export type JobType = 'commit' | 'stream' | 'mirror' | 'backup' | 'create' | 'amend' | 'snapshot-load' | 'snapshot-save' | 'snapshot-delete';

/** QEMU's job lifecycle (qapi/job.json JobStatus). */
export type JobStatus = 'undefined' | 'created' | 'running' | 'paused' | 'ready' | 'standby' | 'waiting' | 'pending' | 'aborting' | 'concluded' | 'null';

export type BlockdevOnError = 'report' | 'ignore' | 'enospc' | 'stop' | 'auto';

export interface BlockJobInfo {
  type: JobType | string;
  /** The job id (named "device" for historical reasons). */
  device: string;
  len: number;
  offset: number;
  busy: boolean;
  paused: boolean;
  speed: number;
  'io-status': BlockDeviceIoStatus;
  ready: boolean;
  status: JobStatus;
  'auto-finalize': boolean;
  'auto-dismiss': boolean;
  error?: string;
}

export interface JobInfo {
  id: string;
  type: JobType | string;
  status: JobStatus;
  'current-progress': number;
  'total-progress': number;
  error?: string;
}

/** block-stream (qapi/block-core.json): copy the data of the images below `device` into it, down to `base-node`. */
export interface BlockStreamArguments {
  'job-id'?: string | undefined;
  /** The image streamed into: the active layer's node name or the drive id. */
  device: string;
  /** The image that stays as `device`'s backing; absent: everything below is pulled in. */
  'base-node'?: string | undefined;
  'backing-file'?: string | undefined;
  speed?: number | undefined;
  'on-error'?: BlockdevOnError | undefined;
  'auto-finalize'?: boolean | undefined;
  'auto-dismiss'?: boolean | undefined;
}

/** blockdev-mirror (qapi/block-core.json): copy `device`'s data to the node `target`, then keep both in sync. */
export interface BlockdevMirrorArguments {
  'job-id'?: string | undefined;
  device: string;
  /** Node name of the destination (blockdev-add'ed before). */
  target: string;
  /** full: the whole guest view; top: only the active layer (the target backs onto the same backing). */
  sync: 'full' | 'top' | 'none';
  replaces?: string | undefined;
  speed?: number | undefined;
  granularity?: number | undefined;
  'buf-size'?: number | undefined;
  'on-source-error'?: BlockdevOnError | undefined;
  'on-target-error'?: BlockdevOnError | undefined;
  'filter-node-name'?: string | undefined;
  /** background (default) or write-blocking: guest writes also go to the target at once (guaranteed convergence). */
  'copy-mode'?: 'background' | 'write-blocking' | undefined;
  'auto-finalize'?: boolean | undefined;
  'auto-dismiss'?: boolean | undefined;
}

/** block-job-change (QEMU 8.2+): for a mirror, switch a running job to write-blocking. */
export interface BlockJobChangeArguments {
  id: string;
  type: 'mirror';
  'copy-mode': 'write-blocking' | 'background';
}

export interface BlockCommitArguments {
  'job-id'?: string | undefined;
  device: string;
  'base-node'?: string | undefined;
  base?: string | undefined;
  'top-node'?: string | undefined;
  top?: string | undefined;
  'backing-file'?: string | undefined;
  /** QEMU 9.0+ (7.2's schema lacks it): passed only when commandHasArgument() finds it (src/protocol/capabilities.ts). */
  'backing-mask-protocol'?: boolean | undefined;
  speed?: number | undefined;
  'on-error'?: BlockdevOnError | undefined;
  'filter-node-name'?: string | undefined;
  'auto-finalize'?: boolean | undefined;
  'auto-dismiss'?: boolean | undefined;
}

// ---------------------------------------------------------------- snapshots & nodes

export type NewImageMode = 'existing' | 'absolute-paths';

export interface BlockdevSnapshotSyncArguments {
  device?: string | undefined;
  'node-name'?: string | undefined;
  'snapshot-file': string;
  'snapshot-node-name'?: string | undefined;
  format?: string | undefined;
  mode?: NewImageMode | undefined;
}

export interface BlockdevSnapshotArguments {
  node: string;
  overlay: string;
}

/** blockdev-add takes a union keyed by driver; we type the common members and pass the rest through. */
export interface BlockdevOptions {
  driver: string;
  'node-name'?: string | undefined;
  'read-only'?: boolean | undefined;
  'auto-read-only'?: boolean | undefined;
  discard?: 'ignore' | 'unmap' | undefined;
  'detect-zeroes'?: 'off' | 'on' | 'unmap' | undefined;
  [member: string]: unknown;
}

export type TransactionAction =
  | { type: 'blockdev-snapshot-sync'; data: BlockdevSnapshotSyncArguments }
  | { type: 'blockdev-snapshot'; data: BlockdevSnapshotArguments }
  | { type: 'abort'; data: Record<string, never> }
  | { type: string; data: Record<string, unknown> };

export interface TransactionArguments {
  actions: TransactionAction[];
  properties?: { 'completion-mode'?: 'individual' | 'grouped' } | undefined;
}

/** `x-debug-query-block-graph` (unstable API): the whole block graph with its edges. */
export interface XDbgBlockGraphNode {
  id: number;
  type: 'block-backend' | 'block-job' | 'block-driver' | string;
  name: string;
}

export interface XDbgBlockGraphEdge {
  parent: number;
  child: number;
  /** The child's role in the parent: "backing", "file", "root", … */
  name: string;
  perm: string[];
  'shared-perm': string[];
}

export interface XDbgBlockGraph {
  nodes: XDbgBlockGraphNode[];
  edges: XDbgBlockGraphEdge[];
}

// ---------------------------------------------------------------- the command map

type NoArgs = Record<string, never>;
type Empty = Record<string, never>;

/** Command name → arguments and return type. `execute` is typed from this map. */
export interface QmpCommandMap {
  qmp_capabilities: { args: { enable?: QmpCapability[] | undefined }; ret: Empty };
  'query-version': { args: NoArgs; ret: VersionInfo };
  'query-status': { args: NoArgs; ret: StatusInfo };
  'query-commands': { args: NoArgs; ret: Array<{ name: string }> };
  'query-block': { args: NoArgs; ret: BlockInfo[] };
  'query-block-exports': { args: NoArgs; ret: BlockExportInfo[] };
  'query-named-block-nodes': { args: { flat?: boolean | undefined }; ret: BlockDeviceInfo[] };
  'query-block-jobs': { args: NoArgs; ret: BlockJobInfo[] };
  'x-debug-query-block-graph': { args: NoArgs; ret: XDbgBlockGraph };
  'query-jobs': { args: NoArgs; ret: JobInfo[] };
  'block-commit': { args: BlockCommitArguments; ret: Empty };
  'block-stream': { args: BlockStreamArguments; ret: Empty };
  'blockdev-mirror': { args: BlockdevMirrorArguments; ret: Empty };
  'block-job-change': { args: BlockJobChangeArguments; ret: Empty };
  'block-job-complete': { args: { device: string }; ret: Empty };
  'block-job-cancel': { args: { device: string; force?: boolean | undefined }; ret: Empty };
  'block-job-pause': { args: { device: string }; ret: Empty };
  'block-job-resume': { args: { device: string }; ret: Empty };
  'block-job-set-speed': { args: { device: string; speed: number }; ret: Empty };
  'block-job-finalize': { args: { id: string }; ret: Empty };
  'block-job-dismiss': { args: { id: string }; ret: Empty };
  'job-pause': { args: { id: string }; ret: Empty };
  'job-resume': { args: { id: string }; ret: Empty };
  'job-cancel': { args: { id: string }; ret: Empty };
  'job-complete': { args: { id: string }; ret: Empty };
  'job-finalize': { args: { id: string }; ret: Empty };
  'job-dismiss': { args: { id: string }; ret: Empty };
  'blockdev-add': { args: BlockdevOptions; ret: Empty };
  'blockdev-del': { args: { 'node-name': string }; ret: Empty };
  'blockdev-snapshot': { args: BlockdevSnapshotArguments; ret: Empty };
  'blockdev-snapshot-sync': { args: BlockdevSnapshotSyncArguments; ret: Empty };
  transaction: { args: TransactionArguments; ret: Empty };
  'human-monitor-command': { args: { 'command-line': string; 'cpu-index'?: number | undefined }; ret: string };
  block_set_io_throttle: { args: BlockIoThrottle; ret: Empty };
  'query-blockstats': { args: { 'query-nodes'?: boolean | undefined }; ret: BlockStats[] };
  stop: { args: NoArgs; ret: Empty };
  cont: { args: NoArgs; ret: Empty };
  quit: { args: NoArgs; ret: Empty };
}

export type QmpCommandName = keyof QmpCommandMap;
export type CommandArgs<K extends QmpCommandName> = QmpCommandMap[K]['args'];
export type CommandReturn<K extends QmpCommandName> = QmpCommandMap[K]['ret'];

// ---------------------------------------------------------------- events

export interface QmpTimestamp {
  seconds: number;
  microseconds: number;
}

export interface BlockJobEventData {
  type: JobType | string;
  /** The job id. */
  device: string;
  len: number;
  offset: number;
  speed: number;
}

/** Event name → `data` payload. */
export interface QmpEventMap {
  JOB_STATUS_CHANGE: { id: string; status: JobStatus };
  BLOCK_JOB_COMPLETED: BlockJobEventData & { error?: string };
  BLOCK_JOB_CANCELLED: BlockJobEventData;
  BLOCK_JOB_READY: BlockJobEventData;
  BLOCK_JOB_PENDING: { type: JobType | string; id: string };
  BLOCK_JOB_ERROR: { device: string; operation: 'read' | 'write'; action: 'ignore' | 'report' | 'stop' };
  BLOCK_IO_ERROR: {
    device: string;
    'node-name'?: string;
    operation: 'read' | 'write';
    action: 'ignore' | 'report' | 'stop';
    nospace?: boolean;
    reason: string;
    /** QEMU 9.2+: the guest device's QOM path. */
    'qom-path'?: string;
  };
  SHUTDOWN: { guest: boolean; reason: string };
  STOP: Empty;
  RESUME: Empty;
}

export type QmpEventName = keyof QmpEventMap;

/** An event as QEMU sends it. `data` is absent for events without payload. */
export interface QmpEvent<Data = Record<string, unknown>> {
  event: string;
  data: Data;
  timestamp: QmpTimestamp;
}

export type TypedEvent<K extends QmpEventName> = QmpEvent<QmpEventMap[K]> & { event: K };

/**
 * The events this library knows, as a union narrowed by `event` (switch (e.event) { case
 * 'BLOCK_JOB_READY': e.data.len … }); `KnownQmpEvent<'A' | 'B'>` is the union of those two.
 */
export type KnownQmpEvent<K extends QmpEventName = QmpEventName> = { [P in K]: TypedEvent<P> }[K];

/** Narrows any event to the known event `name`: its data then has that event's type. */
export function isEvent<K extends QmpEventName>(event: QmpEvent, name: K): event is QmpEvent & TypedEvent<K> {
  return event.event === name;
}

/** Milliseconds since the epoch (as Date.now(), with QEMU's microseconds as a fraction), from a QMP timestamp. */
export function timestampMs(timestamp: QmpTimestamp): number {
  return timestamp.seconds * 1000 + timestamp.microseconds / 1000;
}

/** Seconds since the epoch, as a float, from a QMP timestamp. */
export function timestampSeconds(timestamp: QmpTimestamp): number {
  return timestamp.seconds + timestamp.microseconds / 1e6;
}

/** The job id an event is about, or undefined for events not about a job. */
export function eventJobId(event: QmpEvent): string | undefined {
  const data = event.data as { id?: unknown; device?: unknown };
  switch (event.event) {
    case 'JOB_STATUS_CHANGE':
    case 'BLOCK_JOB_PENDING':
      return typeof data.id === 'string' ? data.id : undefined;
    case 'BLOCK_JOB_COMPLETED':
    case 'BLOCK_JOB_CANCELLED':
    case 'BLOCK_JOB_READY':
    case 'BLOCK_JOB_ERROR':
      return typeof data.device === 'string' ? data.device : undefined;
    default:
      return undefined;
  }
}
