/*
 * Re-records every test/fixtures/qemu-X.Y/*.jsonl from a real qemu-system-x86_64 (the first on PATH;
 * X.Y is its version, so each QEMU of the CI matrix has its own set), through the recorder:
 *   npm run record-fixtures                                 (all scenarios, the system's QEMU)
 *   npm run record-fixtures -- NAME…                        (only these)
 *   bash ci/stack.sh backports npm run record-fixtures      (QEMU 10.0 from the backports prefix)
 * Each scenario builds its images with qemu-img, starts QEMU, puts the recorder in front of it and
 * drives it with a plain QmpClient. Job ids are "commit-job" so replays exercise job-name mapping.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { QmpClient } from '../src/protocol/client.js';
import { QmpCommandError } from '../src/errors.js';
import { createImage, qemuIo } from '../src/transport/qemu-img.js';
import { QemuProcess, qemuCompatFromEnv, qemuVersionLine } from '../src/transport/qemu-process.js';
import { startRecorder } from './recorder.js';
import { controllerScenarios } from './controller-scenarios.js';
import { connect } from '../src/connect.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** From dist/mock-qmp or mock-qmp alike. */
const repoRoot = path.resolve(here, '..', ...(path.basename(path.dirname(here)) === 'dist' ? ['..'] : []));
export const fixturesRoot = path.join(repoRoot, 'test', 'fixtures');

/** test/fixtures/qemu-X.Y for the QEMU that `qemu-system-x86_64 --version` names. */
export function fixturesDirFor(versionLine: string): string {
  const match = /version (\d+)\.(\d+)/.exec(versionLine);
  if (!match) throw new Error(`cannot read a QEMU version from "${versionLine}"`);
  return path.join(fixturesRoot, `qemu-${match[1]}.${match[2]}`);
}

/** How this recording was started, for the trace header: the stack wrapper too when it chose the QEMU. */
const recordCommand = `${process.env.QMPBJ_STACK_NS ? `bash ci/stack.sh ${process.env.QMPBJ_STACK_NS} ` : ''}npm run record-fixtures --`;

const WAIT = { timeoutMs: 20_000 };

interface Chain {
  dir: string;
  base: string;
  a: string;
  b: string;
  c: string;
  /** A separate 12 MiB disk (drive1 where a scenario needs a second disk). */
  other: string;
}

/** base.raw <- a.qcow2 <- b.qcow2 <- c.qcow2, 12 MiB, each layer with its own data (the seed's pattern). */
async function buildChain(dir: string): Promise<Chain> {
  const chain = {
    dir,
    base: path.join(dir, 'base.raw'),
    a: path.join(dir, 'a.qcow2'),
    b: path.join(dir, 'b.qcow2'),
    c: path.join(dir, 'c.qcow2'),
    other: path.join(dir, 'other.qcow2'),
  };
  await createImage(chain.base, { format: 'raw', size: '12M' });
  await qemuIo(chain.base, ['write -P 0x41 0 4M'], { format: 'raw' });
  await createImage(chain.a, { backing: chain.base, backingFormat: 'raw' });
  await qemuIo(chain.a, ['write -P 0x42 2M 4M'], { format: 'qcow2' });
  await createImage(chain.b, { backing: chain.a });
  await qemuIo(chain.b, ['write -P 0x43 5M 4M'], { format: 'qcow2' });
  await createImage(chain.c, { backing: chain.b });
  await qemuIo(chain.c, ['write -P 0x44 0 1M', 'write -P 0x44 8M 2M'], { format: 'qcow2' });
  await createImage(`${chain.other}.base`, { format: 'raw', size: '12M' });
  await createImage(chain.other, { backing: `${chain.other}.base`, backingFormat: 'raw' });
  return chain;
}

const driveArgs = (chain: Chain): string[] => ['-drive', `if=none,id=drive0,file=${chain.c},format=qcow2`];

/** -blockdev nodes n1 (base) … n4 (top); `n2Debug` puts a blkdebug node under n2's format node. */
function blockdevArgs(chain: Chain, n2Debug?: Record<string, unknown>): string[] {
  const files = [chain.base, chain.a, chain.b, chain.c];
  const args: string[] = [];
  files.forEach((file, i) => {
    const n = i + 1;
    args.push('-blockdev', JSON.stringify({ driver: 'file', filename: file, 'node-name': `n${n}-file` }));
    let child = `n${n}-file`;
    if (n === 2 && n2Debug) {
      args.push('-blockdev', JSON.stringify({ driver: 'blkdebug', 'node-name': 'n2-dbg', image: 'n2-file', ...n2Debug }));
      child = 'n2-dbg';
    }
    const format: Record<string, unknown> = { driver: n === 1 ? 'raw' : 'qcow2', file: child, 'node-name': `n${n}` };
    if (n > 1) format.backing = `n${n - 1}`;
    args.push('-blockdev', JSON.stringify(format));
  });
  return args;
}

interface ScenarioContext {
  client: QmpClient;
  qemu: QemuProcess;
  chain: Chain;
}

interface Scenario {
  name: string;
  note: string;
  qemuArgs: (chain: Chain) => string[];
  negotiate?: boolean;
  /**
   * A job scenario: it reads the block graph as listDisks does right after negotiation and again at
   * its end (unless QEMU is gone), so the model can serve any client what QEMU had before and after.
   */
  job?: boolean;
  /** The scenario kills QEMU: there is no graph to read at its end. */
  killsQemu?: boolean;
  run: (ctx: ScenarioContext) => Promise<void>;
}

/** listDisks's three queries (src/block/chain.ts), one after the other so the trace's order is fixed. */
async function recordGraph(client: QmpClient): Promise<void> {
  await client.execute('query-block');
  await client.execute('query-named-block-nodes', { flat: true });
  await client.execute('query-block-exports');
}

/**
 * The format nodes of `files` (-drive gives them automatic names): block-commit's `top`/`base` by
 * file name are deprecated (QEMU 11.1's schema), `top-node`/`base-node` are not. Read with listDisks's
 * three queries, so that the model knows the whole graph from them, not half of it.
 */
async function nodesOf(client: QmpClient, ...files: string[]): Promise<string[]> {
  await client.execute('query-block');
  const nodes = await client.execute('query-named-block-nodes', { flat: true });
  await client.execute('query-block-exports');
  return files.map((file) => {
    const node = nodes.find((n) => n.file === file && n.drv !== 'file')?.['node-name'];
    if (!node) throw new Error(`no format node for ${file}`);
    return node;
  });
}

async function expectError(promise: Promise<unknown>, errorClass: string, what: string): Promise<void> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof QmpCommandError && error.errorClass === errorClass) return;
    throw new Error(`${what}: expected ${errorClass}, got ${String(error)}`);
  }
  throw new Error(`${what}: expected ${errorClass}, got success`);
}

async function waitJobGone(client: QmpClient, id: string, since: number): Promise<void> {
  await client.waitForEvent('JOB_STATUS_CHANGE', { id, status: 'null' }, { ...WAIT, since });
}

async function activeCommitPivot({ client }: ScenarioContext): Promise<void> {
  const since = client.eventCursor();
  await client.execute('block-commit', { device: 'drive0', 'job-id': 'commit-job' });
  await client.waitForEvent('BLOCK_JOB_READY', { device: 'commit-job' }, { ...WAIT, since });
  await client.execute('query-block-jobs');
  await client.execute('job-complete', { id: 'commit-job' });
  await client.waitForEvent('BLOCK_JOB_COMPLETED', { device: 'commit-job' }, { ...WAIT, since });
  await waitJobGone(client, 'commit-job', since);
  await client.execute('query-block-jobs');
}

/** A qcow2 file of 12 MiB in the scenario's folder, opened as node `node` (a backup's target). */
async function addBackupTarget(client: QmpClient, chain: Chain, node: string): Promise<void> {
  const file = path.join(chain.dir, `${node}.qcow2`);
  await createImage(file, { format: 'qcow2', size: '12M' });
  await client.execute('blockdev-add', { driver: 'qcow2', 'node-name': node, file: { driver: 'file', filename: file } });
}

/**
 * blockdev-backup as QEMU runs it: a persistent bitmap chk0 on drive0, refusals (unknown bitmap, a
 * second backup into a target in use, a second backup of the disk in use), a throttled full backup whose copy-before-write filter the
 * graph shows while it runs, then a guest write and an incremental backup since chk0.
 */
async function backupFullThenIncremental({ client, chain }: ScenarioContext): Promise<void> {
  await client.executeUntyped('block-dirty-bitmap-add', { node: 'drive0', name: 'chk0', persistent: true });
  await addBackupTarget(client, chain, 'full-target');
  await addBackupTarget(client, chain, 'inc-target');
  await recordGraph(client);
  await expectError(
    client.executeUntyped('blockdev-backup', { device: 'drive0', 'job-id': 'commit-job', target: 'inc-target', sync: 'incremental', bitmap: 'no-such' }),
    'GenericError',
    'unknown bitmap',
  );
  let since = client.eventCursor();
  // 1 MiB/s over 12 MiB: the job runs while the graph is read and the busy target is refused.
  await client.executeUntyped('blockdev-backup', { device: 'drive0', 'job-id': 'commit-job', target: 'full-target', sync: 'full', speed: 1024 * 1024 });
  await client.waitForEvent('JOB_STATUS_CHANGE', { id: 'commit-job', status: 'running' }, { ...WAIT, since });
  await recordGraph(client);
  await client.execute('query-block-jobs');
  await expectError(
    client.executeUntyped('blockdev-backup', { device: 'drive1', 'job-id': 'commit-job-2', target: 'full-target', sync: 'full' }),
    'GenericError',
    'target in use',
  );
  await expectError(
    client.executeUntyped('blockdev-backup', { device: 'drive0', 'job-id': 'commit-job-2', target: 'inc-target', sync: 'full' }),
    'GenericError',
    'second backup of a disk in use',
  );
  await client.execute('block-job-set-speed', { device: 'commit-job', speed: 0 });
  await client.waitForEvent('BLOCK_JOB_COMPLETED', { device: 'commit-job' }, { ...WAIT, since });
  await waitJobGone(client, 'commit-job', since);
  await recordGraph(client);
  const output = await client.execute('human-monitor-command', { 'command-line': 'qemu-io drive0 "write -P 0x45 3M 1M"' });
  if (typeof output === 'string' && output.startsWith('Error')) throw new Error(`HMP qemu-io failed: ${output}`);
  since = client.eventCursor();
  await client.executeUntyped('blockdev-backup', { device: 'drive0', 'job-id': 'commit-job', target: 'inc-target', sync: 'incremental', bitmap: 'chk0' });
  await client.waitForEvent('BLOCK_JOB_COMPLETED', { device: 'commit-job' }, { ...WAIT, since });
  await waitJobGone(client, 'commit-job', since);
  await client.execute('query-block-jobs');
}

/** Backups of drive0 and drive1 started by one transaction, completion-mode grouped: both jobs run to their end. */
async function backupGrouped({ client, chain }: ScenarioContext): Promise<void> {
  await addBackupTarget(client, chain, 'target0');
  await addBackupTarget(client, chain, 'target1');
  await recordGraph(client);
  const since = client.eventCursor();
  await client.execute('transaction', {
    actions: [
      { type: 'blockdev-backup', data: { device: 'drive0', 'job-id': 'commit-job', target: 'target0', sync: 'full' } },
      { type: 'blockdev-backup', data: { device: 'drive1', 'job-id': 'commit-job-2', target: 'target1', sync: 'full' } },
    ],
    properties: { 'completion-mode': 'grouped' },
  });
  await client.waitForEvent('BLOCK_JOB_COMPLETED', { device: 'commit-job' }, { ...WAIT, since });
  await client.waitForEvent('BLOCK_JOB_COMPLETED', { device: 'commit-job-2' }, { ...WAIT, since });
  await waitJobGone(client, 'commit-job', since);
  await waitJobGone(client, 'commit-job-2', since);
  await client.execute('query-block-jobs');
}

export const scenarios: Scenario[] = [
  {
    name: 'active-commit-pivot',
    job: true,
    note: 'active commit of drive0 (base.raw <- a <- b <- c) with job-id commit-job, READY, job-complete (pivot), job gone',
    qemuArgs: driveArgs,
    run: activeCommitPivot,
  },
  {
    name: 'active-commit-manual-finalize',
    job: true,
    note: 'active commit with auto-finalize=false auto-dismiss=false: READY, complete, PENDING, job-finalize, CONCLUDED, job-dismiss',
    qemuArgs: driveArgs,
    run: async ({ client }) => {
      const since = client.eventCursor();
      await client.execute('block-commit', { device: 'drive0', 'job-id': 'commit-job', 'auto-finalize': false, 'auto-dismiss': false });
      await client.waitForEvent('BLOCK_JOB_READY', { device: 'commit-job' }, { ...WAIT, since });
      await client.execute('job-complete', { id: 'commit-job' });
      await client.waitForEvent('BLOCK_JOB_PENDING', { id: 'commit-job' }, { ...WAIT, since });
      await client.execute('query-jobs');
      await client.execute('job-finalize', { id: 'commit-job' });
      await client.waitForEvent('JOB_STATUS_CHANGE', { id: 'commit-job', status: 'concluded' }, { ...WAIT, since });
      await client.execute('query-jobs');
      await client.execute('job-dismiss', { id: 'commit-job' });
      await waitJobGone(client, 'commit-job', since);
    },
  },
  {
    name: 'cancel-after-ready',
    job: true,
    note: 'active commit, READY, block-job-cancel: ends in BLOCK_JOB_COMPLETED without a pivot',
    qemuArgs: driveArgs,
    run: async ({ client }) => {
      const since = client.eventCursor();
      await client.execute('block-commit', { device: 'drive0', 'job-id': 'commit-job' });
      await client.waitForEvent('BLOCK_JOB_READY', { device: 'commit-job' }, { ...WAIT, since });
      await client.execute('block-job-cancel', { device: 'commit-job' });
      await waitJobGone(client, 'commit-job', since);
    },
  },
  {
    name: 'intermediate-commit',
    job: true,
    note: 'commit b.qcow2 into base.raw under the active c.qcow2 (no READY; top-node/base-node), then query-block',
    qemuArgs: driveArgs,
    run: async ({ client, chain }) => {
      const since = client.eventCursor();
      const [top, base] = await nodesOf(client, chain.b, chain.base);
      await client.execute('block-commit', { device: 'drive0', 'job-id': 'commit-job', 'top-node': top, 'base-node': base });
      await client.waitForEvent('BLOCK_JOB_COMPLETED', { device: 'commit-job' }, { ...WAIT, since });
      await waitJobGone(client, 'commit-job', since);
      await client.execute('query-block-jobs');
    },
  },
  {
    name: 'error-replies',
    note: 'bad device, base not below top, second job on a busy disk, duplicate job id on drive1, complete before READY (throttled job), unknown job, then forced cancel',
    qemuArgs: (chain) => [...driveArgs(chain), '-drive', `if=none,id=drive1,file=${chain.other},format=qcow2`],
    run: async ({ client, chain }) => {
      await expectError(client.execute('block-commit', { device: 'no-such-drive', 'job-id': 'commit-job' }), 'DeviceNotFound', 'bad device');
      const [a, b] = await nodesOf(client, chain.a, chain.b);
      await expectError(
        client.execute('block-commit', { device: 'drive0', 'job-id': 'commit-job', 'top-node': a, 'base-node': b }),
        'GenericError',
        'base above top',
      );
      const since = client.eventCursor();
      // 1 MiB/s over 12 MiB: the job stays running while the errors below are provoked.
      await client.execute('block-commit', { device: 'drive0', 'job-id': 'commit-job', speed: 1024 * 1024 });
      await expectError(client.execute('block-commit', { device: 'drive0', 'job-id': 'commit-job-2' }), 'GenericError', 'second job on a busy disk');
      await expectError(client.execute('block-commit', { device: 'drive1', 'job-id': 'commit-job' }), 'GenericError', 'duplicate job id');
      await expectError(client.execute('job-complete', { id: 'commit-job' }), 'GenericError', 'complete before READY');
      await expectError(client.execute('job-dismiss', { id: 'no-such-job' }), 'GenericError', 'unknown job');
      await client.execute('block-job-cancel', { device: 'commit-job', force: true });
      await waitJobGone(client, 'commit-job', since);
    },
  },
  {
    name: 'backup-full-then-incremental',
    job: true,
    note: 'blockdev-backup of drive0: bitmap chk0, refusals (unknown bitmap, target in use, disk in use), throttled full backup (graph read while it runs), set-speed 0, guest write, incremental since chk0',
    qemuArgs: (chain) => [...driveArgs(chain), '-drive', `if=none,id=drive1,file=${chain.other},format=qcow2`],
    run: backupFullThenIncremental,
  },
  {
    name: 'backup-grouped-transaction',
    job: true,
    note: 'one transaction of two blockdev-backup actions (drive0, drive1; job-ids commit-job, commit-job-2) with completion-mode grouped, both to their end',
    qemuArgs: (chain) => [...driveArgs(chain), '-drive', `if=none,id=drive1,file=${chain.other},format=qcow2`],
    run: backupGrouped,
  },
  {
    name: 'schema',
    note: 'query-qmp-schema and query-commands as this QEMU answers them (under its -compat policy, if any): the schema a model serves and refuses deprecated commands by (mock-qmp --schema)',
    qemuArgs: driveArgs,
    run: async ({ client }) => {
      await client.executeUntyped('query-qmp-schema');
      await client.execute('query-commands');
    },
  },
  {
    name: 'before-negotiation',
    note: 'connect without negotiating: a command before qmp_capabilities is refused, then qmp_capabilities and the same command',
    qemuArgs: () => [],
    negotiate: false,
    run: async ({ client }) => {
      await expectError(client.execute('query-status'), 'CommandNotFound', 'before negotiation');
      await client.execute('qmp_capabilities');
      await client.execute('query-status');
    },
  },
  {
    name: 'io-error-stop',
    job: true,
    note: 'intermediate commit n3 into n2 where n2 sits on blkdebug (write_aio errno 5, once) with on-error=stop: BLOCK_JOB_ERROR, paused, resume, completed',
    qemuArgs: (chain) => blockdevArgs(chain, { 'inject-error': [{ event: 'write_aio', errno: 5, once: true }] }),
    run: async ({ client }) => {
      const since = client.eventCursor();
      await client.execute('block-commit', { device: 'n4', 'job-id': 'commit-job', 'top-node': 'n3', 'base-node': 'n2', 'on-error': 'stop' });
      await client.waitForEvent('BLOCK_JOB_ERROR', { device: 'commit-job' }, { ...WAIT, since });
      await client.waitForEvent('JOB_STATUS_CHANGE', { id: 'commit-job', status: 'paused' }, { ...WAIT, since });
      await client.execute('query-block-jobs');
      await client.execute('job-resume', { id: 'commit-job' });
      await client.waitForEvent('BLOCK_JOB_COMPLETED', { device: 'commit-job' }, { ...WAIT, since });
      await waitJobGone(client, 'commit-job', since);
    },
  },
  {
    name: 'qemu-killed-mid-job',
    job: true,
    killsQemu: true,
    note: 'throttled active commit, query-block-jobs, then QEMU is killed (SIGKILL): the trace ends with end=qemu',
    qemuArgs: driveArgs,
    run: async ({ client, qemu }) => {
      const since = client.eventCursor();
      await client.execute('block-commit', { device: 'drive0', 'job-id': 'commit-job', speed: 1024 * 1024 });
      await client.waitForEvent('JOB_STATUS_CHANGE', { id: 'commit-job', status: 'running' }, { ...WAIT, since });
      await client.execute('query-block-jobs');
      qemu.kill('SIGKILL');
      await qemu.exited;
      await client.closed();
    },
  },
  {
    name: 'snapshot-then-commit',
    job: true,
    note: "the seed's procedure: three blockdev-snapshot-sync with HMP qemu-io writes between, then active commit + pivot",
    qemuArgs: (chain) => ['-drive', `if=none,id=drive0,file=${chain.base},format=raw`],
    run: async (ctx) => {
      const { client, chain } = ctx;
      const writes = ['write -P 0x42 2M 4M', 'write -P 0x43 5M 4M', 'write -P 0x44 8M 2M'];
      for (const [i, write] of writes.entries()) {
        await client.execute('blockdev-snapshot-sync', { device: 'drive0', 'snapshot-file': path.join(chain.dir, `snap${i + 1}.qcow2`), format: 'qcow2' });
        // The graph each snapshot left, so a client that reads it between snapshots sees QEMU's.
        await recordGraph(client);
        const output = await client.execute('human-monitor-command', { 'command-line': `qemu-io drive0 "${write}"` });
        if (typeof output === 'string' && output.startsWith('Error')) throw new Error(`HMP qemu-io failed: ${output}`);
      }
      await activeCommitPivot(ctx);
    },
  },
];

// The controller's own scenarios: recorded here, replayed by test/controller-replays-*.test.ts.
for (const cs of controllerScenarios) {
  scenarios.push({
    name: cs.name,
    note: cs.note,
    qemuArgs: (chain) => (cs.setup === 'drive' ? driveArgs(chain) : blockdevArgs(chain, { 'inject-error': [{ event: 'write_aio', errno: 5, once: true }] })),
    run: async ({ client, qemu }) => {
      const summary = await cs.run(client, {
        kill: async () => {
          qemu.kill('SIGKILL');
          await qemu.exited;
        },
      });
      if (JSON.stringify(summary) !== JSON.stringify(cs.expect)) {
        throw new Error(`${cs.name}: live run gave ${JSON.stringify(summary)}, expected ${JSON.stringify(cs.expect)}`);
      }
      if (cs.killQemu) await client.closed();
    },
  });
}

/** Records one scenario into `out`; returns the trace file. */
export async function recordScenario(scenario: Scenario, out: string): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mqr-'));
  let qemu: QemuProcess | undefined;
  try {
    const chain = await buildChain(dir);
    const qemuArgs = scenario.qemuArgs(chain);
    qemu = await QemuProcess.start({ dir, args: qemuArgs });
    const version = qemuVersionLine();
    const compat = qemuCompatFromEnv();
    const recorder = await startRecorder({
      upstream: qemu.socketPath,
      socket: path.join(dir, 'rec.sock'),
      out,
      // Re-recording replaces the fixture on purpose.
      overwrite: true,
      note: scenario.note,
      // The -compat policy (QMPBJ_QEMU_COMPAT) is on the line: the model refuses deprecated commands by it.
      command: `${recordCommand} ${scenario.name}  # ${version}: qemu-system-x86_64 -nodefaults -display none -machine none -qmp unix:SOCK,server=on,wait=off${compat ? ` -compat ${compat}` : ''} ${qemuArgs.join(' ')}`,
    });
    // QEMU may not listen yet: the client's connect retries, and so the recorder only dials upstream once QEMU is up.
    await qemu.failIfExits(waitForSocket(qemu.socketPath));
    const client = await connect({ path: path.join(dir, 'rec.sock') }, { connectTimeoutMs: 15_000, negotiate: scenario.negotiate ?? true });
    try {
      if (scenario.job) await recordGraph(client);
      await scenario.run({ client, qemu, chain });
      if (scenario.job && !scenario.killsQemu) await recordGraph(client);
    } finally {
      await client.close();
      await recorder.close();
    }
    return out;
  } finally {
    if (qemu) {
      qemu.kill('SIGKILL');
      await qemu.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

async function waitForSocket(socketPath: string): Promise<void> {
  // A QmpClient connect retries until QEMU listens; closing it right away frees the single monitor slot.
  const probe = await connect({ path: socketPath }, { connectTimeoutMs: 15_000, negotiate: false });
  await probe.close();
}

async function main(names: string[]): Promise<void> {
  const chosen = names.length ? scenarios.filter((s) => names.includes(s.name)) : scenarios;
  const unknown = names.filter((n) => !scenarios.some((s) => s.name === n));
  if (unknown.length) throw new Error(`unknown scenario(s): ${unknown.join(', ')}; known: ${scenarios.map((s) => s.name).join(', ')}`);
  const dir = fixturesDirFor(qemuVersionLine());
  mkdirSync(dir, { recursive: true });
  for (const scenario of chosen) {
    const started = performance.now();
    const file = await recordScenario(scenario, path.join(dir, `${scenario.name}.jsonl`));
    process.stdout.write(`recorded ${path.relative(repoRoot, file)} in ${Math.round(performance.now() - started)} ms\n`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`record-fixtures: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
