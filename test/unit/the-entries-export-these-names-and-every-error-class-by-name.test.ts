// What each entry of the package shows, by name: the front door (src/index.ts, what docs/api.md
// documents), qmp-blockjob/testing, and every error class a library path can throw, each from the
// entry a caller of that path imports. A new export or a new error class fails here until it is
// listed (and, for the front door, documented).
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as front from '../../src/index.js';
import * as internal from '../../src/internal.js';
import * as testing from '../../src/testing.js';
import * as mockQmp from '../../mock-qmp/index.js';

const FRONT = [
  'connect',
  'QmpClient',
  'ConnectionState',
  'commandHasArgument',
  'isEvent',
  'listDisks',
  'resolveDisk',
  'findDisk',
  'diskLabel',
  'resolveCommitRange',
  'resolvePullRange',
  'createSnapshots',
  'CommitJob',
  'StreamJob',
  'MirrorJob',
  'BackupJob',
  'invalidatedBy',
  'deleteCommittedImages',
  'createCheckpoint',
  'listCheckpoints',
  'deleteCheckpoint',
  // errors: the protocol's
  'QmpError',
  'ConnectError',
  'MonitorBusyError',
  'ProtocolError',
  'MalformedMessageError',
  'OversizedMessageError',
  'NotQmpServerError',
  'EventOverflowError',
  'QmpCommandError',
  'ConnectionClosedError',
  'CommandNotSentError',
  'CommandOutcomeUnknownError',
  'StateError',
  'QmpTimeoutError',
  'AbortedError',
  'MonitorUnresponsiveError',
  // the block layer's
  'BlockError',
  'DiskNotFoundError',
  'ChainResolutionError',
  'ImageNotInChainError',
  'InvalidCommitRangeError',
  'ConflictingArgumentsError',
  'ChainChangedError',
  'SnapshotTargetExistsError',
  'InvalidSnapshotSpecError',
  'SnapshotOutcomeUnknownError',
  'CheckpointError',
  'BitmapNotUsableError',
  // the job layer's
  'JobError',
  'JobOptionError',
  'JobCommandError',
  'JobAlreadyRunningError',
  'JobNotFoundError',
  'JobStateError',
  'JobFailedError',
  'JobInterruptedError',
  'JobVanishedError',
  'JobStartUnknownError',
  'JobUnsupportedError',
  'GroupPivotError',
  'ImageDeletionError',
  'MirrorTargetError',
];

const TESTING = ['QemuProcess', 'qemuVersionLine', 'ProcessError', 'ImageToolError', 'createImage', 'qemuIo', 'compareImages', 'imageChain', 'convertImage'];

/**
 * Every error class of the library and the entry it is reachable from. The front door's are those its
 * paths throw; internal's come from building blocks the front door does not show (the guest agent and
 * quiesce, I/O limits, libvirt's XML, virsh, servers, trace files).
 */
const ERROR_CLASSES: Record<string, 'front' | 'internal' | 'testing'> = {
  ...Object.fromEntries(FRONT.filter((n) => n.endsWith('Error')).map((n) => [n, 'front' as const])),
  ImageToolError: 'testing',
  ProcessError: 'testing',
  VirshError: 'internal',
  LibvirtDiskError: 'internal',
  ListenError: 'internal',
  IoThrottleError: 'internal',
  GuestAgentError: 'internal',
  GuestAgentUnavailableError: 'internal',
  GuestAgentCommandError: 'internal',
  GuestFreezeError: 'internal',
  GuestThawError: 'internal',
  FreezeTimeoutError: 'internal',
  TraceFileError: 'internal',
  TraceFormatError: 'internal',
};

const entries = { front, internal, testing } as Record<string, Record<string, unknown>>;

t.test('the front door and qmp-blockjob/testing export these names and no others', async (t) => {
  t.same(Object.keys(front).sort(), [...FRONT].sort(), 'src/index.ts: these runtime names (a new one belongs in docs/api.md and here)');
  t.same(Object.keys(testing).sort(), [...TESTING].sort(), 'src/testing.ts: these runtime names');
  t.same(
    Object.keys(front).filter((n) => !(n in internal)),
    [],
    'qmp-blockjob/internal should have everything the front door has',
  );
  t.same(
    Object.keys(testing).filter((n) => !(n in internal)),
    [],
    'qmp-blockjob/internal should have everything testing has',
  );
});

t.test('every error class is exported by its entry, and is a QmpError', async (t) => {
  for (const [name, entry] of Object.entries(ERROR_CLASSES)) {
    const value = entries[entry]![name];
    t.ok(
      typeof value === 'function' && (value === front.QmpError || value.prototype instanceof front.QmpError),
      `${name} should be a QmpError class exported by ${entry}`,
    );
  }
  t.ok(mockQmp.TraceFormatError === internal.TraceFormatError, 'mock-qmp shows the same TraceFormatError');
});

t.test("every error class defined in src/ (the CLI's own aside) is listed above", async (t) => {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../src');
  const parents = new Map<string, string>();
  for (const file of readdirSync(root, { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.ts') || file.startsWith(`cli${path.sep}`)) continue;
    for (const m of readFileSync(path.join(root, file), 'utf8').matchAll(/^export class (\w+) extends (\w+)/gm)) parents.set(m[1]!, m[2]!);
  }
  const isError = (name: string): boolean => name === 'Error' || (parents.has(name) && isError(parents.get(name)!));
  const defined = [...parents.keys()].filter(isError).sort();
  t.ok(defined.length > 40, `the scan should find the error classes (found ${defined.length})`);
  t.same(
    defined.filter((n) => !(n in ERROR_CLASSES)),
    [],
    'error classes defined in src/ but not listed with their entry',
  );
  t.same(
    Object.keys(ERROR_CLASSES).filter((n) => !defined.includes(n)),
    [],
    'listed error classes that src/ no longer defines',
  );
});
