// `commit --dry-run` on a live chain built by snapshots with guest writes between: it starts
// nothing, and what it predicts — the bytes an active commit copies (QEMU's READY len), the images
// it invalidates — is what the real commit right after it then reports.
import path from 'node:path';
import t from 'tap';
import { extraMonitorArgs, jsonLines, runCli } from './helpers/cli.js';
import { startBaseOnlyGuest } from './helpers/base-guest.js';
import { tempDir } from './helpers/qemu.js';

t.test('dry run, then the real commits', async (t) => {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const { client, base } = await startBaseOnlyGuest(t, dir, { extraArgs: extraMonitorArgs(cli) });
  const files = [base];
  for (const [file, offset, count, byte] of [
    ['sn1.qcow2', 2, 4, 0x42],
    ['sn2.qcow2', 5, 4, 0x43],
    ['cur.qcow2', 8, 2, 0x44],
  ] as const) {
    const made = await runCli(['snapshot', 'vda', '--file', path.join(dir, file), '--socket', cli]);
    t.equal(made.code, 0, `snapshot ${file}; stderr: ${made.stderr}`);
    files.push(path.join(dir, file));
    const reply = await client.execute('human-monitor-command', {
      'command-line': `qemu-io -d /machine/peripheral/vda/virtio-backend "write -P ${byte} ${offset}M ${count}M"`,
    });
    t.notMatch(reply, /^Error/m, `guest write into ${file}`);
  }

  const human = await runCli(['commit', 'vda', '--active', '--pivot', '--dry-run', '--bandwidth', '1', '--socket', cli]);
  t.equal(human.code, 0, `the human plan prints; stderr: ${human.stderr}`);
  for (const file of files) t.match(human.stdout, path.basename(file), `the plan names ${path.basename(file)}`);
  t.match(human.stdout, /guest sees/, 'the plan shows the guest view');
  t.match(human.stdout, /At the given bandwidth: about \d+ s/, 'the plan says how long at --bandwidth');

  const dry = await runCli(['commit', 'vda', '--active', '--pivot', '--dry-run', '--json', '--socket', cli]);
  t.equal(dry.code, 0, `the JSON plan prints; stderr: ${dry.stderr}`);
  const [plan] = jsonLines(dry.stdout) as Array<{
    type: string;
    copyBytes: number;
    invalidated: string[];
    stillValid: string[];
    layers: Array<{ file: string; allocatedBytes: number }>;
  }>;
  t.equal(plan?.type, 'plan', 'one plan object');
  t.same(
    plan?.layers.map((l) => l.file),
    files,
    'every layer, base first',
  );
  t.same(
    plan?.layers.map((l) => l.allocatedBytes / (1 << 20)),
    [4, 4, 4, 2],
    "what each layer holds: base's A, and each snapshot's guest write (the active image's too, written just now)",
  );
  t.same(await client.execute('query-block-jobs'), [], 'a dry run starts no job');
  t.same((await client.execute('query-named-block-nodes')).filter((n) => n.drv === 'qcow2').length, 3, 'and changes no node');

  const intermediateDry = await runCli(['commit', 'vda', '--top', 'vda[3]', '--dry-run', '--json', '--socket', cli]);
  const [intermediatePlan] = jsonLines(intermediateDry.stdout) as Array<{ invalidated: string[] }>;
  const intermediate = await runCli(['commit', 'vda', '--top', 'vda[3]', '--wait', '--json', '--socket', cli]);
  t.equal(intermediate.code, 0, `the intermediate commit; stderr: ${intermediate.stderr}`);
  const intermediateResult = jsonLines(intermediate.stdout).find((l) => l.type === 'invalidated') as { files: string[] } | undefined;
  t.same(intermediatePlan?.invalidated, intermediateResult?.files, 'the intermediate plan named the image the commit then reported invalid (sn1)');

  const again = await runCli(['commit', 'vda', '--active', '--pivot', '--dry-run', '--json', '--socket', cli]);
  const [pivotPlan] = jsonLines(again.stdout) as Array<{ copyBytes: number; invalidated: string[] }>;
  const real = await runCli(['commit', 'vda', '--active', '--pivot', '--json', '--socket', cli]);
  t.equal(real.code, 0, `the real active commit; stderr: ${real.stderr}`);
  const lines = jsonLines(real.stdout);
  const ready = lines.find((l) => l.type === 'event' && l.event === 'BLOCK_JOB_READY') as { data: { len: number } } | undefined;
  t.ok(ready, 'the real commit reached READY');
  const predicted = pivotPlan?.copyBytes ?? 0;
  t.ok(
    Math.abs(predicted - (ready?.data.len ?? 0)) <= 0.01 * (ready?.data.len ?? 0),
    `the plan's ${predicted} bytes should be within 1 % of QEMU's READY len ${ready?.data.len}`,
  );
  const reported = lines.find((l) => l.type === 'invalidated') as { files: string[] } | undefined;
  t.same(pivotPlan?.invalidated, reported?.files, 'the pivot plan named the images the commit then reported invalid');
});
