// `node dist/bench/trace-view.js [MESSAGES]` (default 100,000): how long `trace view` takes on a big
// session and how long headless Chromium takes to draw the page. The session is a recorded fixture
// (test/fixtures/qemu-11.1/controller-active-pivot.jsonl, a CLI-style pivot) repeated, each copy
// with its own job id and later times, until it has MESSAGES messages. Not part of the tests.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { repoRoot } from '../test/helpers/qemu.js';
import { chromiumPath } from '../test/helpers/browser.js';

const wanted = Number(process.argv[2] ?? 100_000);
const source = path.join(repoRoot, 'test', 'fixtures', 'qemu-11.1', 'controller-active-pivot.jsonl');
const lines = readFileSync(source, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as Record<string, unknown>);
const header = lines[0]!;
const body = lines.slice(2).filter((l) => 'dir' in l); // without the header and the greeting
const span = Number(body.at(-1)!.t) + 0.01;
const out: string[] = [
  JSON.stringify({ ...header, note: `${wanted} messages: ${path.basename(source)} repeated (bench/trace-view.ts)` }),
  JSON.stringify(lines[1]),
];
let id = 1000;
for (let copy = 0; out.length < wanted; copy++) {
  const job = `commit-drive0-${copy}`;
  for (const line of body) {
    if (out.length >= wanted) break;
    const text = JSON.stringify({ ...line, t: Number(line.t) + copy * span }).replaceAll('"commit-drive0"', `"${job}"`);
    const m = JSON.parse(text) as { msg: { id?: unknown } };
    if (m.msg.id !== undefined) m.msg.id = id + Number(m.msg.id);
    out.push(JSON.stringify(m));
  }
  id += 1000;
}
const dir = mkdtempSync(path.join(tmpdir(), 'qbj-view-'));
try {
  const trace = path.join(dir, 'big.jsonl');
  const html = path.join(dir, 'big.html');
  writeFileSync(trace, `${out.join('\n')}\n`);
  const t0 = performance.now();
  execFileSync(process.execPath, [path.join(repoRoot, 'dist', 'cli.cjs'), 'trace', 'view', trace, '-o', html]);
  const cliMs = performance.now() - t0;
  const executablePath = chromiumPath();
  let drawMs: number | undefined;
  if (executablePath) {
    const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const t1 = performance.now();
    await page.goto(`file://${html}`);
    await page.waitForSelector('body[data-rendered]', { timeout: 60_000 });
    drawMs = performance.now() - t1;
    await browser.close();
  }
  process.stdout.write(
    `${out.length} messages (${(statSync(trace).size / 1e6).toFixed(1)} MB trace): trace view ${cliMs.toFixed(0)} ms → ${(statSync(html).size / 1e3).toFixed(0)} KB page; Chromium load + draw ${drawMs === undefined ? 'not measured (no chromium)' : `${drawMs.toFixed(0)} ms`}; total ${(cliMs + (drawMs ?? 0)).toFixed(0)} ms\n`,
  );
} finally {
  if (!process.env.KEEP) rmSync(dir, { recursive: true, force: true });
  else process.stdout.write(dir + '\n');
}
