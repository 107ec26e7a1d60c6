// The dry-run plan of the seed chain, Eric Blake's example on the libvirt list: the strips, the
// views before and after, the bytes copied and the images invalidated, worked out without QEMU.
import t from 'tap';
import { heldExtents, type LayerAllocation } from '../../src/block/allocation.js';
import { subtract, union } from '../../src/block/extents.js';
import { resolveCommitRange, resolvePullRange } from '../../src/block/index.js';
import type { DiskChain } from '../../src/block/types.js';
import { planCommit, planPull } from '../../src/jobs/plan.js';
import { renderPlan } from '../../src/cli/plan-view.js';

const MiB = 1 << 20;
const files = ['/i/base.raw', '/i/sn1.qcow2', '/i/sn2.qcow2', '/i/cur.qcow2'];
// base: AAAA--------  sn1: --BBBB------  sn2: -----CCCC---  cur: D-------DD--
const held: Array<Array<[number, number]>> = [
  [[0, 4]],
  [[2, 4]],
  [[5, 4]],
  [
    [0, 1],
    [8, 2],
  ],
];
const disk: DiskChain = {
  device: 'drive0',
  qdevId: 'vda',
  requestedAs: 'vda',
  layers: files.map((file, i) => ({ index: i + 1, nodeName: `n${i + 1}`, file, format: i ? 'qcow2' : 'raw', virtualSize: 12 * MiB })),
};
const allocation: LayerAllocation[] = disk.layers.map((layer, i) => ({ layer, known: true, extents: held[i]!.map(([o, l]) => [o * MiB, l * MiB] as const) }));
/** The strips of a rendered plan, by label: [contents, reads as]. */
function strips(lines: readonly string[], from: number): Array<[string, string, string]> {
  return lines
    .slice(from)
    .map((l) => /^(vda\[\d\] \S+|guest sees)\s+([A-D-]{12})?\s*([A-D-]{12})/.exec(l))
    .filter((m) => m !== null)
    .map((m) => [m[1]!, m[2] ?? '', m[3]!]);
}

t.test('an active commit with pivot, drawn at one MiB a column', async (t) => {
  const plan = planCommit(resolveCommitRange(disk, { active: true }), allocation, { pivot: true, speed: MiB });
  t.equal(plan.copyBytes, 9 * MiB, 'the union of sn1, sn2 and cur is copied: 0-1 and 2-10 MiB');
  t.equal(plan.qemuLen, plan.copyBytes, "an active commit's READY len is what it copies");
  t.equal(plan.etaSeconds, 9, 'nine MiB at one MiB/s');
  t.same(plan.invalidated, files.slice(1), 'after a pivot sn1, sn2 and cur are invalid');
  t.same(plan.stillValid, [files[0]], 'base stays valid');
  t.same(plan.leavesChain, files.slice(1), 'everything above base leaves the chain');
  const lines = renderPlan(plan, 'vda[1] sn1.qcow2'.length + 2 + 2 + 24);
  const afterAt = lines.indexOf('after the job:');
  t.ok(afterAt > 0, 'the plan should have an "after" part');
  t.same(
    strips(lines.slice(0, afterAt), 0),
    [
      ['vda[1] base.raw', 'AAAA--------', 'AAAA--------'],
      ['vda[2] sn1.qcow2', '--BBBB------', 'AABBBB------'],
      ['vda[3] sn2.qcow2', '-----CCCC---', 'AABBBCCCC---'],
      ['vda[4] cur.qcow2', 'D-------DD--', 'DABBBCCCDD--'],
      ['guest sees', '', 'DABBBCCCDD--'],
    ],
    "before: Eric Blake's first picture, letter for letter",
  );
  t.same(
    strips(lines, afterAt),
    [
      ['vda[1] base.raw', 'DABBBCCCDD--', 'DABBBCCCDD--'],
      ['vda[2] sn1.qcow2', '--BBBB------', 'DABBBBCCDD--'],
      ['vda[3] sn2.qcow2', '-----CCCC---', 'DABBBCCCCD--'],
      ['vda[4] cur.qcow2', 'D-------DD--', 'DABBBCCCDD--'],
      ['guest sees', '', 'DABBBCCCDD--'],
    ],
    'after: his second picture (base holds the guest view, sn1 and sn2 read differently)',
  );
  t.match(lines.join('\n'), /vda\[1\] base\.raw.*the guest's disk/, "base is marked as the guest's disk after the pivot");
});

t.test('an intermediate commit and a pull', async (t) => {
  const intermediate = planCommit(resolveCommitRange(disk, { top: 'vda[3]' }), allocation);
  t.equal(intermediate.copyBytes, 7 * MiB, 'sn1 ∪ sn2 = 2-9 MiB is copied into base');
  t.equal(intermediate.qemuLen, 12 * MiB, "QEMU's commit counts the whole disk");
  t.same([intermediate.invalidated, intermediate.leavesChain], [[files[1]], [files[1], files[2]]], 'sn1 invalid; sn1 and sn2 leave the chain');
  const pull = planPull(resolvePullRange(disk, { base: 'vda[1]' }), allocation);
  t.equal(pull.copyBytes, 6 * MiB, 'sn1 ∪ sn2 less what cur holds (8-9 MiB): 2-8 MiB is pulled into cur');
  t.same([pull.invalidated, pull.leavesChain], [[], [files[1], files[2]]], 'a pull invalidates nothing; sn1 and sn2 leave the chain');
});

t.test('extents and map entries', async (t) => {
  t.same(
    union([[0, 4]], [[2, 4]], [[10, 1]]),
    [
      [0, 6],
      [10, 1],
    ],
    'union merges overlaps and keeps gaps',
  );
  t.same(
    subtract(
      [[0, 10]],
      [
        [2, 2],
        [6, 1],
      ],
    ),
    [
      [0, 2],
      [4, 2],
      [7, 3],
    ],
    'subtract cuts holes',
  );
  const entries = [
    { start: 0, length: 4, depth: 0, present: false, zero: true, data: false },
    { start: 4, length: 4, depth: 0, present: true, zero: false, data: true },
    { start: 8, length: 4, depth: 0, present: true, zero: true, data: false },
  ];
  t.same(heldExtents(entries, false), [[4, 8]], 'an overlay holds its data and its zeroed clusters (they hide what is below)');
  t.same(heldExtents(entries, true), [[4, 4]], 'the bottom image holds only data: its holes read as zeros from nowhere');
});

t.test("every image a plan lists has its reason, the ones below base and below a pull's base too", async (t) => {
  for (const plan of [
    planCommit(resolveCommitRange(disk, { base: 'vda[2]', top: 'vda[3]' }), allocation),
    planCommit(resolveCommitRange(disk, { base: 'vda[2]', active: true }), allocation, { pivot: true }),
    planPull(resolvePullRange(disk, { base: 'vda[2]' }), allocation),
  ]) {
    const lines = renderPlan(plan, 120);
    const listed = lines.filter((l) => /^ {2}\/i\//.test(l));
    t.ok(listed.length >= 3, `${plan.job}: the images are listed (${listed.length})`);
    for (const line of listed) t.match(line, /^ {2}\/i\/\S+: \S/, `${plan.job}: '${line.trim()}' says why`);
  }
});
