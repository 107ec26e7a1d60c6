// `copy --pivot` (virsh blockcopy --pivot): the destination is created, filled, the guest switched
// onto it; the old chain is no longer the disk but every image of it still reads as before. Both
// destination formats; the data is read back with qemu-io after QEMU quit.
import path from 'node:path';
import t from 'tap';
import { jsonLines } from './helpers/cli.js';
import { copyGuest } from './helpers/copy.js';

for (const format of ['qcow2', 'raw'] as const) {
  t.test(`a full copy to a new ${format} image, then the pivot`, async (t) => {
    const g = await copyGuest(t);
    const dest = path.join(g.dir, `copy.${format}`);
    const result = await g.run('copy', 'drive0', '--dest', dest, '--format', format, '--pivot', '--verbose');
    t.equal(result.code, 0, `the copy pivots; stderr: ${result.stderr}`);
    t.match(result.stdout, /^Successfully pivoted$/m, "virsh's closing words");
    t.match(result.stderr, /Block Copy: \[100\.00 %\]/, "virsh's progress label");
    t.match(result.stdout, new RegExp(`The guest no longer uses: ${g.files.join(', ')}`), 'the old chain is said to be unused now');
    t.same(await g.chain(), [dest], 'the guest now runs on the destination alone');
    t.ok((await g.nodeNames()).includes('copy-drive0-dest'), 'the destination node stays: it is the disk now');
    t.same(await g.client.execute('query-block-jobs'), [], 'no job is left');
    await g.quit();
    await g.check(dest, format);
    for (const layer of g.layers) await g.check(layer.file, layer.format, g.layers.slice(0, g.layers.indexOf(layer) + 1));
  });
}

t.test('--json says what was started and how it ended', async (t) => {
  const g = await copyGuest(t);
  const dest = path.join(g.dir, 'copy.qcow2');
  const result = await g.run('copy', 'drive0', '--dest', dest, '--pivot', '--json');
  t.equal(result.code, 0, `the copy pivots; stderr: ${result.stderr}`);
  const lines = jsonLines(result.stdout);
  t.match(
    lines.find((l) => l.type === 'started'),
    { job: 'copy-drive0', dest, format: 'qcow2', shallow: false, created: true, node: 'copy-drive0-dest' },
    'the start line',
  );
  t.match(
    lines.find((l) => l.type === 'result'),
    { outcome: 'pivoted', node: 'in-use', leftChain: g.files },
    'the result line',
  );
  t.same(
    ((lines.find((l) => l.type === 'result')?.states ?? []) as string[]).filter((s) => s !== 'paused'),
    ['created', 'running', 'ready', 'waiting', 'pending', 'concluded', 'null'],
    'the whole state sequence',
  );
});
