// `copy --shallow` (sync "top"): only the active image is copied; the destination backs onto the
// image below it, which the guest keeps sharing after the pivot.
import path from 'node:path';
import t from 'tap';
import { imageChain } from '../src/transport/qemu-img.js';
import { copyGuest } from './helpers/copy.js';

t.test('a shallow copy of the active image, then the pivot', async (t) => {
  const g = await copyGuest(t);
  const dest = path.join(g.dir, 'top-copy.qcow2');
  const result = await g.run('copy', 'drive0', '--dest', dest, '--shallow', '--pivot');
  t.equal(result.code, 0, `the shallow copy pivots; stderr: ${result.stderr}`);
  t.match(result.stdout, new RegExp(`The guest no longer uses: ${g.files[3]} `), 'only the old active image left the chain');
  t.same(await g.chain(), [...g.files.slice(0, 3), dest], 'the destination sits on b.qcow2, like c.qcow2 did');
  t.equal((await imageChain(dest, { forceShare: true }))[0]?.['backing-filename'], g.files[2], 'the destination records b.qcow2 as its backing file');
  await g.quit();
  // The guest view through the destination, and the destination's own data (only what c held).
  await g.check(dest, 'qcow2');
  await t.resolves(
    (await import('../src/transport/qemu-img.js')).qemuIo(dest, ['read -P 0x44 0M 1M', 'read -P 0x44 8M 2M'], { format: 'qcow2' }),
    'the copied data of c.qcow2 is there',
  );
  const map = (await import('node:child_process')).execFileSync('qemu-img', ['map', '--output=json', '-f', 'qcow2', dest], { encoding: 'utf8' });
  const own = (JSON.parse(map) as Array<{ start: number; length: number; depth: number; data: boolean }>)
    .filter((e) => e.depth === 0 && e.data)
    .reduce((n, e) => n + e.length, 0);
  t.equal(own, 3 * 1024 * 1024, 'the destination holds only the 3 MiB the active image held: the rest comes from its backing');
});
