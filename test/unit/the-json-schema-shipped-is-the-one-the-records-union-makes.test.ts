// schema/cli-records.schema.json (shipped, named in docs/cli.md) is what src/cli/records.ts makes,
// and it tells a record from a line that is none (the bare `{}` `copy --pivot --json` once printed).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { cliRecord } from '../helpers/cli-records.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

t.test('the committed schema is the one the records union makes', async (t) => {
  const check = spawnSync(process.execPath, [path.join(root, 'scripts', 'cli-records-schema.mjs'), '--check'], { encoding: 'utf8', timeout: 110_000 });
  t.equal(check.status, 0, `'npm run schema' should have nothing to change; ${check.stderr}`);
});

t.test('records fit, lines that are none do not', async (t) => {
  t.same(cliRecord('{"type":"jobs","count":0}'), { type: 'jobs', count: 0 }, 'the jobs record of an empty list fits');
  t.ok(cliRecord('{"type":"started","job":"pull-drive0","disk":"drive0","base":null,"pulled":["/a.qcow2"]}'), "a pull's started record fits");
  t.throws(() => cliRecord('{}'), /does not fit/, 'a bare {} is no record');
  t.throws(() => cliRecord('{"type":"result","job":"x","outcome":"done"}'), /does not fit/, 'an outcome the union does not have is refused');
  t.throws(() => cliRecord('{"type":"message","message":"x","extra":1}'), /does not fit/, 'a field the record does not have is refused');
});
