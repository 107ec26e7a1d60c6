// `commit vda vdb --active --pivot`: the disks pivot together once both jobs are READY, or not at all —
// a write error on the second disk's base, or a --timeout the second disk's commit cannot meet,
// leaves both disks on their tops and no job behind. Data checked after QEMU quits.
import t from 'tap';
import { qemuIo, resolveDisk } from '../src/internal.js';
import { expectedView, readChecks } from './helpers/chain.js';
import { finished, jsonLines, runCli, startCli, waitForLine } from './helpers/cli.js';
import { startGroupGuest } from './helpers/group-guest.js';

t.test('both disks pivot together', async (t) => {
  const { client, qemu, cli, vda, vdb } = await startGroupGuest(t);
  const run = await runCli(['commit', 'vda', 'vdb', '--active', '--pivot', '--json', '--socket', cli]);
  t.equal(run.code, 0, `the group commit should succeed; stderr: ${run.stderr}`);
  const lines = jsonLines(run.stdout);
  const readies = lines.filter((l) => l.type === 'event' && l.event === 'BLOCK_JOB_READY').length;
  const firstComplete = lines.findIndex((l) => l.type === 'event' && l.event === 'BLOCK_JOB_COMPLETED');
  const lastReady = lines.findLastIndex((l) => l.type === 'event' && l.event === 'BLOCK_JOB_READY');
  t.equal(readies, 2, 'both jobs reached READY');
  t.ok(firstComplete > lastReady, 'no job completed before both were READY');
  t.same(
    lines.filter((l) => l.type === 'result').map((l) => [l.disk, l.outcome]),
    [
      ['vda', 'pivoted'],
      ['vdb', 'pivoted'],
    ],
    'each disk reports its pivot',
  );
  const group = lines.find((l) => l.type === 'group') as { pivoted: boolean; sentWithinMs: number; concludedSpreadMs: number } | undefined;
  t.equal(group?.pivoted, true, 'the group says every disk pivoted');
  t.comment(`completes written within ${group?.sentWithinMs} ms; QEMU concluded them within ${group?.concludedSpreadMs} ms`);
  t.ok((group?.sentWithinMs ?? Infinity) < 50, `the completes were written back to back (${group?.sentWithinMs} ms)`);
  for (const [name, layers] of [
    ['vda', vda],
    ['vdb', vdb],
  ] as const) {
    t.same(
      (await resolveDisk(client, name)).layers.map((l) => l.file),
      [layers[0]!.file],
      `${name} runs on its base alone`,
    );
  }
  await client.execute('quit').catch(() => undefined);
  await qemu.exited;
  for (const layers of [vda, vdb])
    await t.resolves(qemuIo(layers[0]!.file, readChecks(expectedView(layers)), { format: 'raw' }), `${layers[0]!.file} holds the whole guest view`);
});

t.test("a write error on the second disk's base: neither pivots", async (t) => {
  const { client, cli, vda, vdb } = await startGroupGuest(t, { vdbFailsBaseWrite: true });
  const run = await runCli(['commit', 'vda', 'vdb', '--active', '--pivot', '--json', '--socket', cli]);
  t.equal(run.code, 1, 'the group commit fails');
  t.match(
    run.stderr,
    /no disk pivoted: a job did not reach READY: commit job 'commit-vdb' on vdb .* failed: Input\/output error/,
    `the error says no disk pivoted and why; stderr: ${run.stderr}`,
  );
  t.match(
    run.stderr,
    /vda \[p4\]: cancelled, the guest stays on \S+a\/c\.qcow2; \S+a\/base\.raw may be partly written; vdb \[q4\]: the job failed, the guest stays on \S+b\/c\.qcow2; .*b\/base\.raw.* may be partly written/,
    'each disk says where its guest is',
  );
  const lines = jsonLines(run.stdout);
  t.same(
    lines.filter((l) => l.type === 'result').map((l) => [l.disk, l.outcome]),
    [
      ['vda', 'aborted'],
      ['vdb', 'failed'],
    ],
    'vda was cancelled, vdb failed: neither pivoted',
  );
  t.same(
    lines.find((l) => l.type === 'group'),
    { type: 'group', pivoted: false, disks: ['vda', 'vdb'] },
    'the group says it did not pivot',
  );
  t.same(await client.execute('query-block-jobs'), [], 'no job remains');
  for (const [name, layers] of [
    ['vda', vda],
    ['vdb', vdb],
  ] as const) {
    const live = (await resolveDisk(client, name)).layers;
    t.same([live.length, live.at(-1)?.file], [4, layers[3]!.file], `${name} still runs on its whole chain, on its top`);
  }
});

t.test('--timeout that the second disk cannot meet: neither pivots', async (t) => {
  const { client, cli, vda, vdb } = await startGroupGuest(t, { vdbExtraMiB: 40 });
  const run = await runCli(['commit', 'vda', 'vdb', '--active', '--pivot', '--bandwidth', '4', '--timeout', '4', '--json', '--socket', cli]);
  t.equal(run.code, 1, 'the group commit fails');
  const lines = jsonLines(run.stdout);
  const vdaJob = lines.find((l) => l.type === 'started' && l.disk === 'vda')?.job;
  t.ok(
    lines.some((l) => l.type === 'event' && l.event === 'BLOCK_JOB_READY' && (l.data as { device: string }).device === vdaJob),
    'vda reached READY and waited for vdb',
  );
  t.match(run.stderr, /timeout of 4 s reached: group commit: no disk pivoted/, `the error says the timeout stopped the group; stderr: ${run.stderr}`);
  t.match(
    run.stderr,
    /vda \[p4\]: cancelled, the guest stays on \S+a\/c\.qcow2; \S+a\/base\.raw may be partly written; vdb \[q4\]: cancelled, the guest stays on \S+b\/c\.qcow2; \S+b\/base\.raw may be partly written/,
    'the cancel says the bases were partly written',
  );
  t.same(
    lines.find((l) => l.type === 'group'),
    { type: 'group', pivoted: false, disks: ['vda', 'vdb'], reason: 'timeout of 4 s reached' },
    'the group says it did not pivot',
  );
  t.same(await client.execute('query-block-jobs'), [], 'no job remains');
  for (const [name, layers] of [
    ['vda', vda],
    ['vdb', vdb],
  ] as const) {
    t.same(
      (await resolveDisk(client, name)).layers.map((l) => l.file),
      layers.map((l) => l.file),
      `${name} still runs on its top`,
    );
  }
});

t.test('Ctrl-C once the first disk is READY: neither pivots', async (t) => {
  const { client, cli, vda, vdb } = await startGroupGuest(t, { vdbExtraMiB: 40 });
  const child = startCli(['commit', 'vda', 'vdb', '--active', '--pivot', '--bandwidth', '4', '--json', '--socket', cli]);
  const ended = finished(child, 60_000);
  try {
    await waitForLine(child, (l) => l.includes('"event":"BLOCK_JOB_READY"'), 20_000);
  } finally {
    child.kill('SIGINT');
  }
  const run = await ended;
  t.equal(run.code, 1, 'the group commit ends non-zero');
  t.match(run.stderr, /interrupted: group commit: no disk pivoted/, `the error says Ctrl-C stopped the group; stderr: ${run.stderr}`);
  t.same(
    jsonLines(run.stdout)
      .filter((l) => l.type === 'result')
      .map((l) => [l.disk, l.outcome]),
    [
      ['vda', 'aborted'],
      ['vdb', 'aborted'],
    ],
    'both jobs were cancelled',
  );
  t.same(await client.execute('query-block-jobs'), [], 'no job remains');
  for (const [name, layers] of [
    ['vda', vda],
    ['vdb', vdb],
  ] as const) {
    t.same(
      (await resolveDisk(client, name)).layers.map((l) => l.file),
      layers.map((l) => l.file),
      `${name} still runs on its top`,
    );
  }
});
