// package.json "exports" has require/default conditions: a CommonJS file that require()s
// 'qmp-blockjob' by name (the package resolving itself) gets the same module as an import.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import * as library from '../../src/index.js';
import { repoRoot } from '../helpers/qemu.js';

t.test('require("qmp-blockjob") from a .cjs file loads the front door', (t) => {
  const file = path.join(repoRoot, 'test', 'commonjs', 'require-by-name.cjs');
  const run = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 30_000 });
  t.equal(run.status, 0, `the .cjs file should run on ${process.version}; stderr: ${run.stderr}`);
  const said = JSON.parse(run.stdout.trim() || '{}') as { names?: number };
  t.equal(said.names, Object.keys(library).length, 'require() sees every name the import sees');
  t.end();
});
