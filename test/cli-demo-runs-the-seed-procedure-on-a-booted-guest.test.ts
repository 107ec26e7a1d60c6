// `qmp-blockjob demo` on a machine that has the guest: the seed procedure on a booted Linux guest,
// a file added through the agent after each snapshot, the pivot while the guest writes, files read
// back through the agent and offline after fsck, each step timed, and nothing left behind.
import { existsSync } from 'node:fs';
import t from 'tap';
import { jsonLines, runCli } from './helpers/cli.js';
import { guestKernel } from './helpers/guest.js';

const kernel = guestKernel(t);
if (kernel) {
  t.test('demo boots the guest and verifies its files', async (t) => {
    const result = await runCli(['demo', '--json'], 110_000);
    t.equal(result.code, 0, `demo succeeds; stderr: ${result.stderr}`);
    const lines = jsonLines(result.stdout);
    const steps = lines.map((l) => String(l.step ?? l.message ?? ''));
    t.notOk(
      lines.some((l) => l.fallback !== undefined),
      'not the guest-less fallback',
    );
    t.equal(
      steps.filter((s) => /^Snapshot: vda now writes into \w+\.qcow2; the guest added \/mnt\/seed-\w+\.bin/.test(s)).length,
      3,
      'three snapshots, a file added in the guest after each',
    );
    t.ok(
      lines.some((l) => l.message === 'Successfully pivoted'),
      'the demo pivots',
    );
    const rounds = steps
      .map((s) =>
        /^Active commit .* pivoted after the guest wrote while in sync \(its writer at round (\d+) before the commit, (\d+) at READY, (\d+) after the pivot/.exec(
          s,
        ),
      )
      .find(Boolean);
    t.ok(rounds, `a step tells the writer's rounds around the pivot: ${steps.join(' | ')}`);
    const [before, atReady, after] = (rounds ?? []).slice(1).map(Number);
    t.ok(
      before! >= 1 && atReady! >= before! && after! > atReady!,
      `the guest finished a round between READY and the pivot (rounds ${before}, ${atReady}, ${after})`,
    );
    t.ok(
      steps.some((s) => /^Read back through the agent, caches dropped: 3 files identical/.test(s)),
      'the files are read back through the agent',
    );
    t.ok(
      steps.some((s) => /^Verified offline: fsck.ext4 -fn base.raw is clean, and the 3 files/.test(s)),
      'fsck and the offline comparison',
    );
    t.ok(
      lines.filter((l) => l.type === 'demo').every((l) => typeof l.ms === 'number'),
      'every step says how long it took',
    );
    const dir = /^Working in (\S+)/.exec(steps[0] ?? '')?.[1];
    t.ok(dir && !existsSync(dir), `the throwaway folder ${dir} is gone`);
  });
}
