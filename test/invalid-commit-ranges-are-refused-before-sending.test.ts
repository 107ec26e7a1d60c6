// The validation cases of QEMU's iotests 040 (TestSingleDrive and friends), each refused by our
// checks with a typed error before anything is sent, and each also sent raw once to show that
// QEMU itself refuses it (so our check means what QEMU means).
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import {
  ConflictingArgumentsError,
  DiskNotFoundError,
  ImageNotInChainError,
  InvalidCommitRangeError,
  listDisks,
  findDisk,
  resolveCommitRange,
  type CommitRangeSpec,
} from '../src/block/index.js';
import { QmpCommandError, type BlockCommitArguments } from '../src/internal.js';
import { blockdevChainArgs, buildSeedChain } from './helpers/chain.js';
import { startQemu, tempDir } from './helpers/qemu.js';
import { qemuCompatFromEnv } from '../src/transport/qemu-process.js';

t.test('iotests 040 validation cases', async (t) => {
  const dir = tempDir(t);
  mkdirSync(path.join(dir, 'one'));
  mkdirSync(path.join(dir, 'two'));
  const one = await buildSeedChain(path.join(dir, 'one'));
  const two = await buildSeedChain(path.join(dir, 'two'));
  const { client } = await startQemu(t, { dir, args: [...blockdevChainArgs(one, 'n'), ...blockdevChainArgs(two, 'm')] });
  const disks = await listDisks(client);
  const disk = findDisk(disks, 'n4');
  const [base, mid1, mid2] = one.map((l) => l.file) as [string, string, string, string];

  // What QEMU says to the same request; a command QEMU accepts would start a job, which we undo.
  async function qemuRefuses(args: BlockCommitArguments): Promise<string> {
    const reply = await client.execute('block-commit', { 'job-id': 'probe', speed: 1, ...args }).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!(reply instanceof QmpCommandError)) {
      await client.execute('block-job-cancel', { device: 'probe', force: true });
      return 'ACCEPTED';
    }
    return reply.desc;
  }

  const cases: Array<{
    name: string;
    spec: CommitRangeSpec;
    device?: string;
    error: new (...args: never[]) => Error;
    message: RegExp;
    qemu: BlockCommitArguments;
    qemuSays: RegExp;
  }> = [
    {
      name: 'test_top_same_base',
      spec: { top: mid1, base: mid1 },
      error: InvalidCommitRangeError,
      message: /top and base are both \[2\] .*a\.qcow2: cannot commit an image into itself/,
      qemu: { device: 'n4', top: mid1, base: mid1 },
      qemuSays: /^Can't find '.*a\.qcow2' in the backing chain$/,
    },
    {
      name: 'test_top_invalid',
      spec: { top: 'badfile', base: base },
      error: ImageNotInChainError,
      message: /'badfile' is not in the backing chain of disk 'n4'/,
      qemu: { device: 'n4', top: 'badfile', base },
      qemuSays: /Top image file badfile not found/,
    },
    {
      name: 'test_base_invalid',
      spec: { top: mid2, base: 'badfile' },
      error: ImageNotInChainError,
      message: /'badfile' is not in the backing chain of disk 'n4'/,
      qemu: { device: 'n4', top: mid2, base: 'badfile' },
      qemuSays: /Can't find 'badfile' in the backing chain/,
    },
    {
      name: 'test_top_node_invalid',
      spec: { topNode: 'badnode', baseNode: 'n1' },
      error: ImageNotInChainError,
      message: /'badnode' is not in the backing chain of disk 'n4': no layer has that node name/,
      qemu: { device: 'n4', 'top-node': 'badnode', 'base-node': 'n1' },
      qemuSays: /Cannot find device='' nor node-name='badnode'/,
    },
    {
      name: 'test_base_node_invalid',
      spec: { topNode: 'n3', baseNode: 'badnode' },
      error: ImageNotInChainError,
      message: /'badnode' is not in the backing chain of disk 'n4': no layer has that node name/,
      qemu: { device: 'n4', 'top-node': 'n3', 'base-node': 'badnode' },
      qemuSays: /Cannot find device='' nor node-name='badnode'/,
    },
    {
      name: 'test_top_path_and_node',
      spec: { top: mid2, topNode: 'n3', base: base },
      error: ConflictingArgumentsError,
      message: /'top' \(.*b\.qcow2\) and 'topNode' \(n3\) are mutually exclusive/,
      qemu: { device: 'n4', top: mid2, 'top-node': 'n3', base },
      qemuSays: /'top-node' and 'top' are mutually exclusive/,
    },
    {
      name: 'test_base_path_and_node',
      spec: { top: mid2, base: base, baseNode: 'n1' },
      error: ConflictingArgumentsError,
      message: /'base' \(.*base\.raw\) and 'baseNode' \(n1\) are mutually exclusive/,
      qemu: { device: 'n4', top: mid2, base, 'base-node': 'n1' },
      qemuSays: /'base-node' and 'base' are mutually exclusive/,
    },
    {
      name: 'test_top_and_base_reversed',
      spec: { top: mid1, base: mid2 },
      error: InvalidCommitRangeError,
      message: /base \[3\] .*b\.qcow2 is above top \[2\] .*a\.qcow2; base must be below top/,
      qemu: { device: 'n4', top: mid1, base: mid2 },
      qemuSays: /Can't find '.*b\.qcow2' in the backing chain/,
    },
    {
      name: 'test_top_and_base_node_reversed',
      spec: { topNode: 'n2', baseNode: 'n3' },
      error: InvalidCommitRangeError,
      message: /base \[3\] .*b\.qcow2 is above top \[2\] .*a\.qcow2/,
      qemu: { device: 'n4', 'top-node': 'n2', 'base-node': 'n3' },
      qemuSays: /^'n3' is not in this backing file chain$/,
    },
    {
      name: 'test_top_node_in_wrong_chain',
      spec: { topNode: 'm3', baseNode: 'n1' },
      error: ImageNotInChainError,
      message: /'m3' is not in the backing chain of disk 'n4': it is image \[3\] of disk 'm4'/,
      qemu: { device: 'n4', 'top-node': 'm3', 'base-node': 'n1' },
      qemuSays: /'m3' is not in this backing file chain/,
    },
  ];

  for (const c of cases) {
    const ours = (() => {
      try {
        resolveCommitRange(disk, c.spec, disks);
        return undefined;
      } catch (e) {
        return e;
      }
    })();
    t.ok(ours instanceof c.error, `${c.name}: refused with ${c.error.name}, got ${String(ours)}`);
    t.match((ours as Error | undefined)?.message, c.message, `${c.name}: our message says which and why`);
    // Under QEMU's deprecation policy (the newest stack) block-commit's file-name top/base are refused as such.
    const byFileUnderPolicy = qemuCompatFromEnv()?.includes('deprecated-input=reject') && ('top' in c.qemu || 'base' in c.qemu);
    t.match(
      await qemuRefuses(c.qemu),
      byFileUnderPolicy ? /^Deprecated parameter (top|base) disabled by policy$/ : c.qemuSays,
      `${c.name}: QEMU refuses the same request`,
    );
  }

  // test_device_not_found
  const missing = (() => {
    try {
      findDisk(disks, 'nonexistent');
      return undefined;
    } catch (e) {
      return e;
    }
  })();
  t.ok(missing instanceof DiskNotFoundError, 'test_device_not_found: DiskNotFoundError');
  t.match((missing as Error).message, /disk 'nonexistent' not found; known disks: 'm4', 'n4'/, 'test_device_not_found: lists the known disks');
  t.same((missing as DiskNotFoundError).known, ['m4', 'n4'], 'test_device_not_found: known disks as data');
  t.match(await qemuRefuses({ device: 'nonexistent' }), /Device 'nonexistent' not found/, 'test_device_not_found: QEMU refuses too');

  // top == base from the defaults on a single-image chain: nothing to commit.
  const single = { ...disk, layers: disk.layers.slice(0, 1) };
  t.throws(() => resolveCommitRange(single, {}), /single image, there is nothing to commit/, 'defaults on a one-image chain are refused');

  t.same(await client.execute('query-block-jobs'), [], 'no job was left behind by any probe');
  t.same(
    (await listDisks(client)).map((d) => d.layers.length),
    [4, 4],
    'both chains untouched',
  );
});
