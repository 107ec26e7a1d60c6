// docs/compat.md's table of recorded differences is generated (`npm run compat-table`) by trace diff
// from the fixture sets: this fails when a fixture set changed and the table was not made again.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { COMPAT_DOC, compatTable, withTable } from '../helpers/compat-table.js';

t.test('the generated part of docs/compat.md is current', async (t) => {
  const doc = readFileSync(COMPAT_DOC, 'utf8');
  t.equal(doc, withTable(doc, compatTable()), 'docs/compat.md is stale: run `npm run compat-table` and commit docs/compat.md');
});
