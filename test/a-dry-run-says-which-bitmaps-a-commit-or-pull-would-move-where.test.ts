// --dry-run names each persistent bitmap the job would carry, from which images into which, created
// or merged, disabled or not — in words and in --json — and starts nothing.
import path from 'node:path';
import t from 'tap';
import { chainWithBitmaps } from './helpers/bitmaps.js';
import { extraMonitorArgs, jsonLines, runCli } from './helpers/cli.js';

t.test('commit and pull --dry-run list the bitmap moves', async (t) => {
  const cli = path.join((await import('node:os')).tmpdir(), `qbj-dry-${process.pid}.sock`);
  const g = await chainWithBitmaps(t, extraMonitorArgs(cli));
  t.teardown(async () => (await import('node:fs/promises')).rm(cli, { force: true }));

  const commit = await runCli(['commit', 'drive0', '--active', '--pivot', '--dry-run', '--socket', cli]);
  t.equal(commit.code, 0, `the dry run should succeed; stderr: ${commit.stderr}`);
  for (const line of [
    `bitmap chk0: ${g.top} + ${g.a} → ${g.base} (merged into its own)`,
    `bitmap chk1: ${g.top} → ${g.base} (created)`,
    `bitmap old: ${g.a} → ${g.base} (created, disabled as on the source)`,
  ]) {
    t.ok(commit.stdout.split('\n').includes(line), `the commit plan should say: ${line}`);
  }

  const pull = await runCli(['pull', 'drive0', '--base', g.base, '--dry-run', '--json', '--socket', cli]);
  t.equal(pull.code, 0, `the pull dry run should succeed; stderr: ${pull.stderr}`);
  const plan = jsonLines(pull.stdout).find((l) => 'bitmaps' in l || (l.result as Record<string, unknown> | undefined)?.bitmaps !== undefined);
  const bitmaps = (plan?.bitmaps ?? (plan?.result as Record<string, unknown> | undefined)?.bitmaps) as unknown;
  t.same(
    bitmaps,
    [
      { name: 'chk0', from: [g.a], to: g.top, create: false, disabled: false },
      { name: 'old', from: [g.a], to: g.top, create: true, disabled: true },
    ],
    'the pull plan in --json should list the moves into the active image',
  );
  t.same(await g.client.execute('query-jobs'), [], 'nothing should have started');
});
