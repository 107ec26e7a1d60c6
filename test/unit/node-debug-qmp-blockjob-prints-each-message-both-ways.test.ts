// The debug hook is node's debuglog('qmp-blockjob'): with NODE_DEBUG=qmp-blockjob every message the
// client writes and reads goes to stderr, with its peer; without it, nothing.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { repoRoot } from '../helpers/qemu.js';
import { fixtureSets } from './helpers/recorded.js';

const trace = path.join(fixtureSets()[0]!.dir, 'raw', 'active-commit-pivot.jsonl');
const dist = path.join(repoRoot, 'dist');
const script = `
import { connect } from ${JSON.stringify(pathToFileURL(path.join(dist, 'src', 'index.js')).href)};
import { startMockQmp } from ${JSON.stringify(pathToFileURL(path.join(dist, 'mock-qmp', 'index.js')).href)};
const mock = await startMockQmp({ trace: ${JSON.stringify(trace)}, model: true, instant: true });
const client = await connect(mock.address, { connectTimeoutMs: 5000 });
await client.execute('query-block-jobs');
await client.close();
await mock.close();
`;
const run = (env: NodeJS.ProcessEnv): string => {
  const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env, timeout: 30_000 });
  if (out.status !== 0) throw new Error(`the script failed: ${out.stderr}`);
  return out.stderr;
};

t.test('NODE_DEBUG=qmp-blockjob logs the traffic', (t) => {
  const { NODE_DEBUG: _, ...quiet } = process.env;
  const said = run({ ...quiet, NODE_DEBUG: 'qmp-blockjob' });
  t.match(said, /QMP-BLOCKJOB \d+: unix:.* <- \{"execute":"query-block-jobs","id":\d+\}/, 'the command written is logged');
  t.match(said, /QMP-BLOCKJOB \d+: unix:.* -> \{"return":\[\],"id":\d+\}/, 'its reply is logged');
  t.match(said, /-> \{"QMP":/, 'so is the greeting');
  t.equal(run(quiet), '', 'without NODE_DEBUG nothing is printed');
  t.end();
});
