// `--json` prints one JSON object per line, every job event included; `--trace` records a session that
// mock-qmp then replays to the same CLI command with the same outcome, no QEMU needed — and so does
// its model, for the CLI under another job id.
import path from 'node:path';
import t from 'tap';
import { startMockQmp } from '../mock-qmp/index.js';
import { startQemu, tempDir } from './helpers/qemu.js';
import { buildSeedChain } from './helpers/chain.js';
import { extraMonitorArgs, jsonLines, runCli } from './helpers/cli.js';

t.test('commit --json --trace, then the trace replayed', async (t) => {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const trace = path.join(dir, 'commit.jsonl');
  const layers = await buildSeedChain(dir);
  const { client } = await startQemu(t, { dir, args: ['-drive', `if=none,id=drive0,file=${layers[3]!.file},format=qcow2`, ...extraMonitorArgs(cli)] });
  const live = await runCli(['--json', '--trace', trace, 'commit', 'drive0', '--active', '--pivot', '--verbose', '--socket', cli]);
  t.equal(live.code, 0, `live commit should succeed; stderr: ${live.stderr}`);
  const lines = jsonLines(live.stdout);
  const events = lines.filter((l) => l.type === 'event');
  t.ok(
    events.some((e) => e.event === 'BLOCK_JOB_READY'),
    'READY should be among the printed events',
  );
  t.ok(
    events.some((e) => e.event === 'BLOCK_JOB_COMPLETED'),
    'COMPLETED should be among the printed events',
  );
  const statuses = events.filter((e) => e.event === 'JOB_STATUS_CHANGE').map((e) => (e.data as { status: string }).status);
  t.same(statuses.slice(0, 2), ['created', 'running'], 'the events from before the block-commit reply should be printed too');
  t.same(statuses.slice(-3), ['pending', 'concluded', 'null'], 'the job should end in null');
  t.ok(
    lines.some((l) => l.type === 'progress'),
    'progress objects should be printed',
  );
  t.equal(lines.find((l) => l.type === 'result')?.outcome, 'pivoted', 'the result should say pivoted');
  await client.close();

  const mock = await startMockQmp({ trace, socket: path.join(dir, 'mock.sock'), instant: true });
  t.teardown(() => mock.close());
  const replay = await runCli(['--json', 'commit', 'drive0', '--active', '--pivot', '--socket', mock.path!]);
  t.equal(replay.code, 0, `replayed commit should succeed; stderr: ${replay.stderr}`);
  const replayLines = jsonLines(replay.stdout);
  t.ok(
    replayLines.some((l) => l.type === 'message' && l.message === 'Successfully pivoted'),
    'the replay should pivot too',
  );
  t.same(
    replayLines.filter((l) => l.event === 'JOB_STATUS_CHANGE').map((l) => (l.data as { status: string }).status),
    statuses,
    'the replay should show the same job state sequence',
  );

  // The model answers the same CLI command from the same trace, under another job id.
  const model = await startMockQmp({ trace, socket: path.join(dir, 'model.sock'), instant: true, model: true });
  t.teardown(() => model.close());
  const modelled = await runCli(['--json', 'commit', 'drive0', '--active', '--pivot', '--job-id', 'other-id', '--socket', model.path!]);
  t.equal(modelled.code, 0, `the commit against the model should succeed; stderr: ${modelled.stderr}`);
  const result = jsonLines(modelled.stdout).find((l) => l.type === 'result');
  t.same(
    [result?.job, result?.outcome, result?.states],
    ['other-id', 'pivoted', statuses],
    "the model should pivot the client's own job through the same states",
  );
});
