// After READY the job keeps base in sync: guest writes (HMP qemu-io on the drive) land in base after the pivot.
import t from 'tap';
import { CommitJob } from '../src/jobs/index.js';
import { qemuIo } from '../src/transport/qemu-img.js';
import { buildSeedChain, expectedView, readChecks } from './helpers/chain.js';
import { driveArgs, withoutBlips } from './helpers/jobs.js';
import { startQemu, tempDir } from './helpers/qemu.js';
import { driveDisk, rangeOf } from './helpers/range.js';

t.test('writes after READY reach base', async (t) => {
  const dir = tempDir(t);
  const layers = await buildSeedChain(dir);
  const base = layers[0]!.file;
  const { client } = await startQemu(t, { dir, args: driveArgs(layers) });
  const job = await CommitJob.start(client, rangeOf(await driveDisk(client, layers, 'drive0'), 4, 1));
  await job.waitUntilReady({ timeoutMs: 30_000 });
  const hmp = async (line: string): Promise<void> => {
    const out = await client.execute('human-monitor-command', { 'command-line': line });
    t.notMatch(out, /Error|failed/, `HMP ${line} should succeed: ${out}`);
  };
  await hmp('qemu-io drive0 "write -P 0x45 11M 1M"');
  await hmp('qemu-io drive0 "write -P 0x45 0 512k"');
  const result = await job.pivot({ timeoutMs: 30_000 });
  t.same(
    withoutBlips(result.history),
    ['created', 'running', 'ready', 'waiting', 'pending', 'concluded', 'null'],
    `whole state sequence, drains collapsed (seen: ${result.states.join(',')})`,
  );
  t.equal(result.outcome, 'pivoted', 'outcome should be pivoted');
  const view = expectedView(layers);
  view[11] = 0x45;
  const checks = readChecks(view).filter((c) => !c.endsWith(' 0M 1M'));
  await qemuIo(base, [...checks, 'read -P 0x45 0 512k', 'read -P 0x44 512k 512k'], { format: 'raw', forceShare: true });
  t.pass('base holds the pre-commit view plus the writes made in the synchronized phase');
});
