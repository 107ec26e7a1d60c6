// What a copy is asked is checked, and what it sends is built, without QEMU or files: the
// destination's creation, its blockdev-add (backing named outright: the disk's own backing node
// for a shallow copy, none for a full one), blockdev-mirror's arguments, node names that never
// collide, and a clear JobOptionError for every bad option.
import t from 'tap';
import type { DiskChain } from '../../src/block/types.js';
import { JobOptionError } from '../../src/jobs/errors.js';
import { mirrorArguments, planMirror, targetNodeName } from '../../src/jobs/mirror-options.js';

const files = ['/i/base.raw', '/i/a.qcow2', '/i/c.qcow2'];
const disk: DiskChain = {
  device: 'drive0',
  driveId: 'drive0',
  layers: files.map((file, i) => ({ index: i + 1, nodeName: `n${i + 1}`, file, format: i ? 'qcow2' : 'file', virtualSize: 12 << 20 })),
};
const none = new Set<string>();

t.test('a full qcow2 copy', async (t) => {
  const plan = planMirror(disk, { file: '/d/copy.qcow2' }, {}, none);
  t.same(plan.create, { file: '/d/copy.qcow2', format: 'qcow2', size: 12 << 20 }, "created as qcow2 of the disk's size, no backing");
  t.same(
    plan.blockdev,
    { driver: 'qcow2', 'node-name': 'copy-drive0-dest', file: { driver: 'file', filename: '/d/copy.qcow2' }, backing: null },
    'opened with no backing at all',
  );
  t.same(
    mirrorArguments(disk, plan, { speed: 5, granularity: 65536, bufSize: 1 << 20, copyMode: 'write-blocking', autoDismiss: false }),
    {
      'job-id': 'copy-drive0',
      device: 'drive0',
      target: 'copy-drive0-dest',
      sync: 'full',
      speed: 5,
      granularity: 65536,
      'buf-size': 1 << 20,
      'copy-mode': 'write-blocking',
      'auto-dismiss': false,
    },
    'blockdev-mirror gets every option',
  );
});

t.test('shallow, raw, reused', async (t) => {
  const shallow = planMirror(disk, { file: '/d/top.qcow2', shallow: true }, {}, none);
  t.equal(shallow.sync, 'top', 'a shallow copy is sync top');
  t.same(shallow.create?.backing, { file: '/i/a.qcow2', format: 'qcow2' }, "created on the active layer's backing image");
  t.equal(shallow.blockdev.backing, 'n2', 'and opened on its node, shared with the source');
  const onProtocol = planMirror({ ...disk, layers: disk.layers.slice(0, 2) }, { file: '/d/top.qcow2', shallow: true }, {}, none);
  t.same(onProtocol.create?.backing, { file: '/i/base.raw', format: 'raw' }, 'a protocol-node backing is recorded as raw');
  const alone = planMirror({ ...disk, layers: disk.layers.slice(0, 1) }, { file: '/d/x.qcow2', shallow: true }, {}, none);
  t.equal(alone.sync, 'full', 'shallow on a single image is a full copy');
  const raw = planMirror(disk, { file: '/d/copy.raw', format: 'raw' }, {}, none);
  t.same(raw.blockdev, { driver: 'raw', 'node-name': 'copy-drive0-dest', file: { driver: 'file', filename: '/d/copy.raw' } }, 'raw takes no backing member');
  t.equal(planMirror(disk, { file: '/d/copy.qcow2', reuseExisting: true }, {}, none).create, undefined, 'a reused destination is not created');
});

t.test('node names', async (t) => {
  t.equal(targetNodeName('copy-drive0', new Set(['copy-drive0-dest'])), 'copy-drive0-dest2', 'the next free name');
  const long = targetNodeName('copy-' + 'x'.repeat(40), none);
  t.ok(long.length <= 31 && long.endsWith('-dest'), `kept to QEMU's 31 characters: ${long}`);
  t.equal(targetNodeName('9 odd/id', none), 'c_odd_id-dest', 'made well-formed');
});

t.test('every bad option is a JobOptionError', async (t) => {
  const cases: Array<[string, Parameters<typeof planMirror>[1], Parameters<typeof planMirror>[2], RegExp]> = [
    ['relative path', { file: 'copy.qcow2' }, {}, /absolute path/],
    ['the disk itself', { file: '/i/c.qcow2' }, {}, /image of the disk itself/],
    ['shallow raw', { file: '/d/x.raw', format: 'raw', shallow: true }, {}, /raw destination cannot/],
    ['format', { file: '/d/x', format: 'vmdk' as 'raw' }, {}, /qcow2 or raw/],
    ['granularity', { file: '/d/x' }, { granularity: 3000 }, /power of two/],
    ['buf-size', { file: '/d/x' }, { bufSize: 0 }, /buf-size/],
    ['speed', { file: '/d/x' }, { speed: -1 }, /speed/],
    ['copy mode', { file: '/d/x' }, { copyMode: 'fast' as 'background' }, /copy mode/],
    ['on-target-error', { file: '/d/x' }, { onTargetError: 'never' as 'stop' }, /on-target-error/],
    ['node name in use', { file: '/d/x' }, { nodeName: 'n1' }, /already in use/],
    ['bad node name', { file: '/d/x' }, { nodeName: '1x' }, /not one QEMU takes/],
  ];
  for (const [what, target, options, message] of cases) {
    t.throws(() => planMirror(disk, target, options, new Set(['n1'])), message, `${what}: refused with its reason`);
    t.throws(() => planMirror(disk, target, options, new Set(['n1'])), JobOptionError, `${what}: as a JobOptionError`);
  }
});
