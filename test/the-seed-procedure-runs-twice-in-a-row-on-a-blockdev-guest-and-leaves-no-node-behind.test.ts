// On a guest started as libvirt starts one (-blockdev, a named storage and format node per image),
// the seed procedure runs twice in a row — snapshot, commit --pivot, snapshot again, commit --pivot
// again — then a copy --pivot. Each job removes the nodes it took out of the graph (blockdev-del,
// top down, once nothing uses them), so the next snapshot or copy is not refused ("Node … is busy",
// "Need a root block node"), `blocks` lists no phantom disk, and the data reads as the guest wrote it.
import path from 'node:path';
import t from 'tap';
import { compareImages, createImage, qemuIo, resolveDisk } from '../src/internal.js';
import { extraMonitorArgs, jsonLines, runCli } from './helpers/cli.js';
import { buildSeedChain, expectedView, readChecks } from './helpers/chain.js';
import { startQemu, tempDir } from './helpers/qemu.js';

t.test('snapshot, commit --pivot, snapshot, commit --pivot, copy --pivot on a -blockdev guest', async (t) => {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const base = path.join(dir, 'base.raw');
  const top = path.join(dir, 'top.qcow2');
  await createImage(base, { format: 'raw', size: '12M' });
  await qemuIo(base, ['write -P 0x41 0 4M'], { format: 'raw' });
  await createImage(top, { format: 'qcow2', backing: base, backingFormat: 'raw' });
  await qemuIo(top, ['write -P 0x42 2M 2M'], { format: 'qcow2' });
  const { client, qemu } = await startQemu(t, {
    dir,
    machine: 'pc',
    args: [
      '-accel',
      'tcg',
      '-m',
      '64',
      '-blockdev',
      JSON.stringify({ driver: 'file', filename: base, 'node-name': 'vda-base-storage' }),
      '-blockdev',
      JSON.stringify({ driver: 'raw', file: 'vda-base-storage', 'node-name': 'vda-base' }),
      '-blockdev',
      JSON.stringify({ driver: 'file', filename: top, 'node-name': 'vda-top-storage' }),
      '-blockdev',
      JSON.stringify({ driver: 'qcow2', file: 'vda-top-storage', backing: 'vda-base', 'node-name': 'vda-top' }),
      '-device',
      'virtio-blk-pci,id=vda,drive=vda-top',
      ...extraMonitorArgs(cli),
    ],
  });
  const cliRun = (...args: string[]) => runCli([...args, '--socket', cli]);
  const guestWrite = async (byte: number, offset: number, count: number): Promise<void> => {
    const reply = await client.execute('human-monitor-command', {
      'command-line': `qemu-io -d /machine/peripheral/vda/virtio-backend "write -P ${byte} ${offset}M ${count}M"`,
    });
    t.notMatch(reply, /^Error/m, `guest write ${byte.toString(16)} at ${offset} MiB`);
  };
  const nodes = async (): Promise<string[]> =>
    (await client.execute('query-named-block-nodes', { flat: true }))
      .flatMap((n) => n['node-name'] ?? [])
      .filter((n) => !n.startsWith('#'))
      .sort();
  const onlyVda = async (step: string): Promise<void> => {
    const blocks = await cliRun('blocks');
    t.equal(blocks.code, 0, `${step}: blocks; stderr: ${blocks.stderr}`);
    const targets = blocks.stdout
      .split('\n')
      .slice(2)
      .filter((l) => l.trim())
      .map((l) => l.trim().split(/\s+/)[0]);
    t.same(targets, ['vda'], `${step}: blocks lists vda and no phantom disk (got ${blocks.stdout})`);
  };

  for (const [round, [file, byte, offset]] of (
    [
      ['s1.qcow2', 0x43, 5],
      ['s2.qcow2', 0x44, 8],
    ] as const
  ).entries()) {
    const snap = await cliRun('snapshot', 'vda', '--file', path.join(dir, file));
    t.equal(snap.code, 0, `round ${round + 1}: snapshot ${file}; stderr: ${snap.stderr}`);
    await guestWrite(byte, offset, 2);
    const commit = await cliRun('commit', 'vda', '--active', '--pivot', '--json');
    t.equal(commit.code, 0, `round ${round + 1}: commit --pivot; stderr: ${commit.stderr}`);
    const nodesLine = jsonLines(commit.stdout).find((l) => l.type === 'result')?.nodes as { removed: string[]; kept: unknown[] } | undefined;
    t.same(nodesLine?.kept, [], `round ${round + 1}: no node kept`);
    if (round === 0)
      t.same(
        [...(nodesLine?.removed ?? [])].filter((n) => !n.startsWith('snap-')).sort(),
        ['vda-top', 'vda-top-storage'],
        "round 1: the old top's format and storage nodes were deleted (--json says which)",
      );
    t.same(
      (await resolveDisk(client, 'vda')).layers.map((l) => l.file),
      [base],
      `round ${round + 1}: the guest runs on base alone`,
    );
    t.same(await nodes(), ['vda-base', 'vda-base-storage'], `round ${round + 1}: only base's nodes are left in QEMU`);
    await onlyVda(`round ${round + 1}`);
  }

  const dest = path.join(dir, 'copy.qcow2');
  const copy = await cliRun('copy', 'vda', '--dest', dest, '--pivot');
  t.equal(copy.code, 0, `copy --pivot; stderr: ${copy.stderr}`);
  t.same(
    (await resolveDisk(client, 'vda')).layers.map((l) => l.file),
    [dest],
    'the guest runs on the copy',
  );
  t.notOk(
    (await nodes()).some((n) => n.startsWith('vda-base')),
    "the source's nodes are gone: base.raw is no longer open",
  );
  await onlyVda('after the copy');

  await client.execute('quit').catch(() => undefined);
  await qemu.exited;
  // MiB 0-1: A (base), 2-3: B (top), 5-6: C (after the first snapshot), 8-9: D (after the second)
  const view = [0x41, 0x41, 0x42, 0x42, 0, 0x43, 0x43, 0, 0x44, 0x44, 0, 0];
  await t.resolves(
    qemuIo(
      dest,
      view.map((b, m) => `read -P ${b} ${m}M 1M`),
      { format: 'qcow2' },
    ),
    'the copy reads every MiB the guest saw',
  );
  t.ok(await compareImages(base, dest), 'base and the copy are identical (qemu-img compare)');
});

t.test('an intermediate commit and a pull on a -blockdev guest leave no node of what left the chain', async (t) => {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const layers = await buildSeedChain(dir);
  const args = layers.flatMap((layer, i) => [
    '-blockdev',
    JSON.stringify({ driver: 'file', filename: layer.file, 'node-name': `s${i + 1}` }),
    '-blockdev',
    JSON.stringify({ driver: layer.format, file: `s${i + 1}`, 'node-name': `f${i + 1}`, ...(layer.format === 'qcow2' ? { backing: i ? `f${i}` : null } : {}) }),
  ]);
  const { client, qemu } = await startQemu(t, {
    dir,
    machine: 'pc',
    args: ['-accel', 'tcg', '-m', '64', ...args, '-device', 'virtio-blk-pci,id=vda,drive=f4', ...extraMonitorArgs(cli)],
  });
  const nodes = async (): Promise<string[]> =>
    (await client.execute('query-named-block-nodes', { flat: true }))
      .flatMap((n) => n['node-name'] ?? [])
      .filter((n) => !n.startsWith('#'))
      .sort();
  const commit = await runCli(['commit', 'vda', '--top', 'vda[3]', '--wait', '--socket', cli]);
  t.equal(commit.code, 0, `intermediate commit of a and b into base; stderr: ${commit.stderr}`);
  t.same(await nodes(), ['f1', 'f4', 's1', 's4'], "a's and b's nodes are gone");
  const pull = await runCli(['pull', 'vda', '--wait', '--socket', cli]);
  t.equal(pull.code, 0, `pull of base into the active image; stderr: ${pull.stderr}`);
  t.same(await nodes(), ['f4', 's4'], "base's nodes are gone too: base.raw is no longer open");
  await client.execute('quit').catch(() => undefined);
  await qemu.exited;
  await t.resolves(qemuIo(layers[3]!.file, readChecks(expectedView(layers)), { format: 'qcow2' }), 'the active image reads every MiB the guest saw');
});
