// The automatic share of a command that holds the monitor outlives that command while another
// command still uses it: two active commits with pivot on two disks through one --socket both pivot
// whichever ends first, and `events` as the holder cuts no job off. The monitor is free again once
// the last client and job are gone (a plain client is greeted on it).
import net from 'node:net';
import path from 'node:path';
import t, { type Test } from 'tap';
import { qemuIo } from '../src/internal.js';
import { rendezvousPath, shareIsLive } from '../src/share/rendezvous.js';
import { expectedView, readChecks, type Layer } from './helpers/chain.js';
import { extraMonitorArgs, finished, jsonLines, startCli, waitForLine, type CliResult } from './helpers/cli.js';
import { startTwoDiskGuest } from './helpers/two-disks.js';

/** Resolves once a plain client on `socket` is greeted: nobody holds the monitor. */
function greeted(socket: string, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = net.connect(socket);
    let text = '';
    const timer = setTimeout(() => {
      client.destroy();
      reject(new Error(`no greeting on ${socket} within ${timeoutMs} ms: the monitor is still held`));
    }, timeoutMs);
    client.setEncoding('utf8').on('data', (d: string) => {
      text += d;
      if (text.includes('\n')) {
        clearTimeout(timer);
        client.destroy();
        resolve(text);
      }
    });
    client.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Resolves once the command holding `socket` shares it (from 50 ms on): the next command goes through it. */
async function shared(socket: string): Promise<void> {
  const rendezvous = rendezvousPath(socket)!;
  const deadline = Date.now() + 15_000;
  while (!(await shareIsLive(rendezvous))) {
    if (Date.now() > deadline) throw new Error('the holder never shared the monitor');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function guestWithCliMonitor(t: Test) {
  const dir = (await import('./helpers/qemu.js')).tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const g = await startTwoDiskGuest(t, undefined, extraMonitorArgs(cli));
  return { ...g, cli };
}

function commit(disk: string, mib: number, socket: string) {
  const child = startCli(['commit', disk, '--active', '--pivot', '--bandwidth', String(mib), '--json', '--socket', socket]);
  return { child, done: finished(child, 90_000) };
}

function pivoted(t: Test, result: CliResult, disk: string): void {
  t.equal(result.code, 0, `commit ${disk} ends with 0; stderr: ${result.stderr}`);
  t.match(
    jsonLines(result.stdout).find((l) => l.type === 'result'),
    { outcome: 'pivoted', job: `commit-${disk}` },
    `commit ${disk} says it pivoted`,
  );
}

async function checkData(
  t: Test,
  g: { client: { execute(c: string): Promise<unknown> }; qemu: { exited: Promise<unknown> }; vda: Layer[]; vdb: Layer[] },
  which: Array<'vda' | 'vdb'>,
): Promise<void> {
  const blocks = (await g.client.execute('query-block')) as Array<{ qdev?: string; device: string; inserted?: { file: string; backing_file_depth?: number } }>;
  for (const disk of which) {
    const layers = g[disk];
    const entry = blocks.find((b) => b.qdev?.includes(`/${disk}/`));
    t.equal(entry?.inserted?.file, layers[0]!.file, `${disk} runs on its base image now`);
  }
  await g.client.execute('quit').catch(() => undefined);
  await g.qemu.exited;
  for (const disk of which) {
    const layers = g[disk];
    await t.resolves(qemuIo(layers[0]!.file, readChecks(expectedView(layers)), { format: layers[0]!.format }), `${disk}'s base reads what the guest saw`);
  }
}

// Each subtest has its own guest and monitor socket (so its own share) and mostly waits on
// bandwidth-held commits: all three at once (buffered).
t.jobs = 3;

t.test('the holder ends first: the other commit, served by the keeper, still pivots', async (t) => {
  const g = await guestWithCliMonitor(t);
  const first = commit('vda', 5, g.cli);
  t.teardown(() => first.child.kill('SIGKILL'));
  await waitForLine(first.child, (line) => line.includes('"type":"started"'));
  await shared(g.cli);
  const second = commit('vdb', 2, g.cli);
  t.teardown(() => second.child.kill('SIGKILL'));
  await waitForLine(second.child, (line) => line.includes('"type":"started"'));
  const a = await first.done;
  pivoted(t, a, 'vda');
  t.equal(
    await Promise.race([second.done.then(() => 'ended'), Promise.resolve('running')]),
    'running',
    'the second commit was still running when the holder ended',
  );
  pivoted(t, await second.done, 'vdb');
  t.match(await greeted(g.cli), /"QMP"/, 'the monitor is free once the last client and job are gone');
  await checkData(t, g, ['vda', 'vdb']);
});

t.test('the other command ends first: the holder goes on as before', async (t) => {
  const g = await guestWithCliMonitor(t);
  const first = commit('vda', 2, g.cli);
  t.teardown(() => first.child.kill('SIGKILL'));
  await waitForLine(first.child, (line) => line.includes('"type":"started"'));
  await shared(g.cli);
  const second = commit('vdb', 20, g.cli);
  t.teardown(() => second.child.kill('SIGKILL'));
  pivoted(t, await second.done, 'vdb');
  pivoted(t, await first.done, 'vda');
  t.match(await greeted(g.cli), /"QMP"/, 'the monitor is free once both ended');
  await checkData(t, g, ['vda', 'vdb']);
});

t.test('events as the holder: a commit through its share outlives it and pivots', async (t) => {
  const g = await guestWithCliMonitor(t);
  const events = startCli(['events', '--timeout', '2', '--socket', g.cli]);
  t.teardown(() => events.kill('SIGKILL'));
  const eventsDone = finished(events, 30_000);
  await shared(g.cli);
  const job = commit('vdb', 2, g.cli);
  t.teardown(() => job.child.kill('SIGKILL'));
  await waitForLine(job.child, (line) => line.includes('"type":"started"'));
  const ended = await eventsDone;
  t.equal(ended.code, 0, `events ends at its timeout; stderr: ${ended.stderr}`);
  pivoted(t, await job.done, 'vdb');
  t.match(await greeted(g.cli), /"QMP"/, 'the monitor is free once the commit ended');
  await checkData(t, g, ['vdb']);
});
