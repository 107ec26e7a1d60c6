// `commit --dry-run --format svg|html` on real QEMU (the seed chain base.raw <- a <- b <- c, 1 MiB a
// letter): the picture has a row per image before and after; after an active commit with pivot the
// base holds what the guest saw (DDAABBBBBBCCCCCCDDDD----, at 512 KiB a cell), the cells the commit
// copies are outlined in base, a, b and c are marked invalid; the HTML page holds the same picture
// and the plan's text. Against the model of each recorded QEMU (whose image files are not here) the
// same rows and invalid images are drawn from the recorded chain. A bad --format is a usage error.
import path from 'node:path';
import t from 'tap';
import { buildSeedChain } from './helpers/chain.js';
import { extraMonitorArgs, jsonLines, runCli } from './helpers/cli.js';
import { driveArgs } from './helpers/jobs.js';
import { fixturePath, fixtureSets, startQemu, tempDir } from './helpers/qemu.js';
import { readTrace, serveTrace } from './helpers/replay.js';

interface Row {
  file: string;
  invalid: boolean;
  letters: string;
}

/** The layer rows of the picture, in order: the file, whether marked invalid, the letters of its contents strip. */
function rows(svg: string): Row[] {
  return [...svg.matchAll(/<g class="layer( invalid)?" data-file="([^"]+)">([\s\S]*?)<\/g>/g)].map((m) => {
    const cells = [...m[3]!.matchAll(/<rect x="(\d+)"[^>]*?fill="([^"]+)"[^>]*\/>(?:\s*<text[^>]*>([^<]*)<\/text>)?/g)];
    // The contents strip is the first half of the cells (the second is what it reads as).
    const contents = cells
      .slice(0, cells.length / 2)
      .map((c) => c[3] ?? '-')
      .join('');
    return { file: m[2]!, invalid: m[1] !== undefined, letters: contents };
  });
}

t.test('real QEMU: the strips of an active commit with pivot', async (t) => {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const layers = await buildSeedChain(dir);
  const files = layers.map((l) => l.file);
  await startQemu(t, { dir, args: [...driveArgs(layers), ...extraMonitorArgs(cli)] });
  const svg = await runCli(['commit', 'drive0', '--active', '--pivot', '--dry-run', '--format', 'svg', '--socket', cli], 30_000);
  t.equal(svg.code, 0, `the picture is drawn; stderr: ${svg.stderr}`);
  t.match(svg.stdout, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/, 'an SVG document');
  const drawn = rows(svg.stdout);
  t.same(
    drawn.map((r) => r.file),
    [...files, ...files],
    'a row per image, before and after',
  );
  t.same(
    drawn.slice(0, 4).map((r) => r.letters),
    ['AAAAAAAA----------------', '----BBBBBBBB------------', '----------CCCCCCCC------', 'DD--------------DDDD----'],
    'before: what each image holds, as qemu-img map says',
  );
  t.equal(drawn[4]!.letters, 'DDAABBBBBBCCCCCCDDDD----', 'after: base holds what the guest saw');
  t.same(
    drawn
      .slice(4)
      .filter((r) => r.invalid)
      .map((r) => r.file),
    files.slice(1),
    'a, b and c marked invalid',
  );
  const plan = jsonLines((await runCli(['--json', 'commit', 'drive0', '--active', '--pivot', '--dry-run', '--socket', cli], 30_000)).stdout)[0]!;
  const copied = (svg.stdout.match(/class="copied"/g) ?? []).length;
  t.equal(copied * 512 * 1024, plan.copyBytes, 'the outlined cells are what the commit copies');
  const html = await runCli(['commit', 'drive0', '--active', '--pivot', '--dry-run', '--format', 'html', '--socket', cli], 30_000);
  t.match(html.stdout, /^<!doctype html>[\s\S]*<svg [\s\S]*<pre>Plan for drive0: active commit/, 'the page holds the picture and the plan');
  const bad = await runCli(['commit', 'drive0', '--active', '--dry-run', '--format', 'png', '--socket', cli], 30_000);
  t.equal(bad.code, 2, '--format png is a usage error');
});

for (const set of fixtureSets()) {
  t.test(`${set}: the model of active-commit-pivot`, async (t) => {
    const trace = readTrace(fixturePath('active-commit-pivot.jsonl', set));
    const server = await serveTrace(t, { trace, model: true });
    const run = await runCli(['commit', 'drive0', '--active', '--pivot', '--dry-run', '--format', 'svg', '--socket', server.path!], 30_000);
    t.equal(run.code, 0, `the picture is drawn; stderr: ${run.stderr}`);
    const drawn = rows(run.stdout);
    t.same(
      drawn.map((r) => path.basename(r.file)),
      ['base.raw', 'a.qcow2', 'b.qcow2', 'c.qcow2', 'base.raw', 'a.qcow2', 'b.qcow2', 'c.qcow2'],
      'the recorded chain, before and after',
    );
    t.same(
      drawn
        .slice(4)
        .filter((r) => r.invalid)
        .map((r) => path.basename(r.file)),
      ['a.qcow2', 'b.qcow2', 'c.qcow2'],
      'a, b and c marked invalid',
    );
  });
}
