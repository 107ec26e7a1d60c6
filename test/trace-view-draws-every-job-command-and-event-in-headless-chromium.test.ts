// `trace view` in a real browser (headless Chromium): for each recorded QEMU's fixture of a pivot,
// a session the CLI recorded on this machine's QEMU (with progress polling and a bandwidth limit)
// and one recorded against mock-qmp's model, the page loads offline with no console error and no
// request, shows as many commands and events as the trace has and a lane per job, puts each job's
// READY marker at its timestamp on the time axis, and the screenshot is not blank.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { chromium, type Browser } from 'playwright-core';
import { readTrace } from '../src/trace/reader.js';
import { buildSeedChain } from './helpers/chain.js';
import { extraMonitorArgs, runCli } from './helpers/cli.js';
import { chromiumPath, pngVariety } from './helpers/browser.js';
import { driveArgs } from './helpers/jobs.js';
import { fixturePath, fixtureSets, startQemu, tempDir } from './helpers/qemu.js';
import { serveTrace } from './helpers/replay.js';

const executablePath = chromiumPath();
if (!executablePath) {
  // CI installs chromium on every stack (.ci/setup, ci/trixie-root.sh) and says so: there a missing browser fails.
  if (process.env.QMPBJ_REQUIRE_CHROMIUM === '1') t.fail('QMPBJ_REQUIRE_CHROMIUM=1 but no chromium on PATH or at QMPBJ_CHROMIUM');
  else t.plan(0, 'no chromium here (.ci/setup and ci/trixie-root.sh install it): the browser test is skipped');
} else {
  let browser: Browser | undefined;
  t.before(async () => {
    browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
  });
  t.teardown(async () => browser?.close());

  async function checkPage(t: Test, traceFile: string, expectProgress: boolean): Promise<void> {
    const html = path.join(tempDir(t), 'view.html');
    const run = await runCli(['trace', 'view', traceFile, '-o', html], 30_000);
    t.equal(run.code, 0, `trace view should succeed; stderr: ${run.stderr}`);
    const trace = readTrace(traceFile);
    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    t.teardown(() => page.close());
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('request', (r) => {
      if (!r.url().startsWith('file:')) problems.push(`request: ${r.url()}`);
    });
    await page.goto(`file://${html}`);
    await page.waitForSelector('body[data-rendered]', { timeout: 15_000 });
    t.same(problems, [], 'no console error, no page error, no request beyond the file');

    const commands = trace.messages.filter((m) => m.dir === 'out').length;
    const events = trace.messages.filter((m) => m.dir === 'in' && 'event' in m.msg);
    const jobs = new Set(events.flatMap((m) => (m.msg.event === 'JOB_STATUS_CHANGE' ? [(m.msg.data as { id: string }).id] : [])));
    // In-page code as text: it runs in the browser, where this file's (node) types do not apply.
    const shown = (await page.evaluate(`({
      commands: document.getElementById('count-commands')?.textContent,
      events: document.getElementById('count-events')?.textContent,
      commandMarks: document.querySelectorAll('#lane-commands .command').length,
      eventMarks: document.querySelectorAll('#lane-events .event').length,
      lanes: [...document.querySelectorAll('g.lane[data-job]')].map((g) => g.getAttribute('data-job')),
      progress: [...document.querySelectorAll('svg.progress polyline')].map((p) => (p.getAttribute('points') ?? '').split(' ').length),
    })`)) as { commands: string; events: string; commandMarks: number; eventMarks: number; lanes: string[]; progress: number[] };
    t.same([shown.commands, shown.events], [String(commands), String(events.length)], "the counts are the trace's");
    t.same([shown.commandMarks, shown.eventMarks], [commands, events.length], 'a mark per command and per event');
    t.same([...shown.lanes].sort(), [...jobs].sort(), 'one lane per job');
    if (expectProgress)
      t.ok(
        shown.progress.some((n) => n >= 2),
        `a progress curve with points; ${JSON.stringify(shown.progress)}`,
      );
    const completes = trace.messages.filter((m) => m.dir === 'out' && /job-complete$/.test(String(m.msg.execute))).length;
    const latencies = (await page.evaluate(`document.querySelectorAll('.ready-latency').length`)) as number;
    t.equal(latencies, completes, 'READY → complete marked for each job completed after READY');

    // A job's READY: the first of its JOB_STATUS_CHANGE "ready" and BLOCK_JOB_READY.
    const readyOf = new Map<string, number>();
    for (const m of events) {
      const data = m.msg.data as { id?: string; device?: string; status?: string };
      const job = m.msg.event === 'BLOCK_JOB_READY' ? data.device : m.msg.event === 'JOB_STATUS_CHANGE' && data.status === 'ready' ? data.id : undefined;
      if (job !== undefined && !readyOf.has(job)) readyOf.set(job, m.t);
    }
    t.ok(readyOf.size > 0, 'the trace has a READY');
    for (const [job, readyT] of readyOf) {
      const m = { t: readyT };
      const placed = (await page.evaluate(`(() => {
        const marker = document.querySelector('line.ready-marker[data-job="' + CSS.escape(${JSON.stringify(job)}) + '"]').getBoundingClientRect();
        const axis = document.getElementById('axis').getBoundingClientRect();
        const svg = document.getElementById('timeline');
        return { x: marker.left + marker.width / 2, left: axis.left, width: axis.width, t0: Number(svg.dataset.t0), t1: Number(svg.dataset.t1) };
      })()`)) as { x: number; left: number; width: number; t0: number; t1: number };
      const expected = placed.left + ((m.t - placed.t0) / (placed.t1 - placed.t0)) * placed.width;
      t.ok(
        Math.abs(placed.x - expected) < 1.5,
        `job ${job}'s READY marker at ${placed.x.toFixed(1)} px, its timestamp ${m.t} s is at ${expected.toFixed(1)} px`,
      );
    }
    const variety = pngVariety(await page.screenshot({ fullPage: true }));
    t.ok(variety > 16, `the screenshot is not blank (${variety} byte values)`);
  }

  for (const set of fixtureSets()) {
    t.test(`${set}/controller-active-pivot`, (t) => checkPage(t, fixturePath('controller-active-pivot.jsonl', set), true));
  }

  t.test('a session the CLI recorded on QEMU, and one against the model', async (t) => {
    const dir = tempDir(t);
    const cli = path.join(dir, 'cli.sock');
    const { client } = await startQemu(t, { dir, args: [...driveArgs(await buildSeedChain(dir)), ...extraMonitorArgs(cli)] });
    const traceFile = path.join(dir, 'session.jsonl');
    const run = await runCli(['commit', 'drive0', '--active', '--pivot', '--verbose', '--bandwidth', '64', '--trace', traceFile, '--socket', cli], 60_000);
    t.equal(run.code, 0, `commit should succeed; stderr: ${run.stderr}`);
    await t.test('real QEMU', (t) => checkPage(t, traceFile, true));
    const { qemu } = await client.execute('query-version');
    const set = `qemu-${qemu.major}.${qemu.minor}`;
    if (!fixtureSets().includes(set)) return;
    const server = await serveTrace(t, { trace: readTrace(fixturePath('active-commit-pivot.jsonl', set)), model: true });
    const modelTrace = path.join(dir, 'model.jsonl');
    const onModel = await runCli(['commit', 'drive0', '--active', '--pivot', '--verbose', '--trace', modelTrace, '--socket', server.path!], 60_000);
    t.equal(onModel.code, 0, `commit on the model should succeed; stderr: ${onModel.stderr}`);
    await t.test('model', (t) => checkPage(t, modelTrace, false));
    t.ok(readFileSync(modelTrace, 'utf8').length > 0, 'the model session was recorded');
  });
}
