// `mock-qmp serve --trace FILE` answers any client as the recorded QEMU would, without a flag: the
// CLI (its own job id, its own commands) commits through a transcript another client recorded and
// the disk ends on base as on that QEMU; `--replay` is positional replay, refused with --model.
import path from 'node:path';
import t from 'tap';
import { connect } from '../src/connect.js';
import { finished, jsonLines, mockQmpListening, runCli, startMockQmpCli } from './helpers/cli.js';
import { fixturePath, fixtureSets, tempDir } from './helpers/qemu.js';

for (const set of fixtureSets())
  t.test(`${set}: serve --trace, no flag, answers the CLI`, async (t) => {
    const dir = tempDir(t);
    const socket = path.join(dir, 'm.sock');
    const trace = path.join(path.dirname(fixturePath('x', set)), 'raw', 'active-commit-pivot.jsonl');
    const server = startMockQmpCli(['serve', '--trace', trace, '--socket', socket, '--instant']);
    t.teardown(() => server.kill('SIGKILL'));
    await mockQmpListening(server, 10_000);
    const run = await runCli(['--json', 'commit', 'vd0', '--active', '--pivot', '--socket', socket], 30_000);
    t.equal(run.code, 0, `the CLI's commit ends as on QEMU; stderr: ${run.stderr}`);
    t.match(
      jsonLines(run.stdout).find((l) => l.type === 'result'),
      { job: 'commit-vd0', outcome: 'pivoted' },
      'under its own job id, pivoted',
    );
    const client = await connect({ path: socket }, { connectTimeoutMs: 5000 });
    t.teardown(() => client.close());
    const blocks = await client.execute('query-block');
    t.equal(
      blocks.find((b) => b.qdev === '/machine/peripheral/vd0/virtio-backend')?.inserted?.image?.format,
      'raw',
      'the next client sees vd0 on its raw base',
    );
  });

t.test('--replay and --model exclude each other', async (t) => {
  const dir = tempDir(t);
  const result = await finished(
    startMockQmpCli(['serve', '--replay', '--model', '--trace', fixturePath('active-commit-pivot.jsonl'), '--socket', path.join(dir, 'm.sock')]),
    10_000,
  );
  t.equal(result.code, 2, 'a usage error');
  t.match(result.stderr, /--replay and --model exclude each other/, 'said plainly');
});
