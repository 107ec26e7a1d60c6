// A reader that goes away (`commit … --json | head -1`, `qmp … | head -c 100`, `events | sleep 25`)
// is no crash: no EPIPE stack trace, the commit still pivots, and the exit status is the job's.
import path from 'node:path';
import t from 'tap';
import { resolveDisk } from '../src/internal.js';
import { buildSeedChain, expectedView, readChecks } from './helpers/chain.js';
import { extraMonitorArgs, finished, startCli, waitForLine } from './helpers/cli.js';
import { startQemu, tempDir } from './helpers/qemu.js';
import { eventsCliWithTrigger } from './helpers/events-cli.js';
import { qemuIo } from '../src/internal.js';

const noCrash = /EPIPE|Unhandled|\n\s+at /;

t.test('commit --json with stdout closed after the first line still pivots and exits 0', async (t) => {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const layers = await buildSeedChain(dir);
  const files = layers.map((l) => l.file);
  const { client, qemu } = await startQemu(t, { dir, args: ['-drive', `if=none,id=drive0,file=${files[3]},format=qcow2`, ...extraMonitorArgs(cli)] });
  // Slow enough (≈ 3 s) that READY, the pivot and their output all come after the reader left.
  const child = startCli(['commit', 'drive0', '--active', '--pivot', '--bandwidth', '4', '--json', '--socket', cli]);
  t.teardown(() => child.kill('SIGKILL'));
  const first = await waitForLine(child, (line) => line.startsWith('{'));
  t.match(first, /"type":"event"/, 'the first line should be a job event');
  child.stdout!.destroy(); // what `head -1` does after its line
  const result = await finished(child);
  t.equal(result.code, 0, `the commit should succeed as if stdout were read; stderr: ${result.stderr}`);
  t.notMatch(result.stderr, noCrash, 'no EPIPE or stack trace');
  const disk = await resolveDisk(client, 'drive0');
  t.same(
    disk.layers.map((l) => l.file),
    [files[0]],
    'the guest should have been pivoted onto base',
  );
  await client.execute('quit').catch(() => undefined);
  await qemu.exited;
  await t.resolves(qemuIo(files[0]!, readChecks(expectedView(layers)), { format: 'raw' }), 'base should hold what the guest saw');
});

t.test('qmp query-qmp-schema with stdout closed after 100 bytes exits 0 without a stack trace', async (t) => {
  const { qemu, client } = await startQemu(t);
  await client.close();
  const child = startCli(['qmp', 'query-qmp-schema', '--socket', qemu.socketPath]);
  t.teardown(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const got = await new Promise<number>((resolve) => {
    let bytes = 0;
    child.stdout!.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes >= 100) {
        child.stdout!.destroy(); // `head -c 100`
        resolve(bytes);
      }
    });
  });
  t.ok(got >= 100, 'the reply should have started to arrive');
  const code = await new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (c) => resolve(c))));
  t.equal(code, 0, `the command itself succeeded; stderr: ${stderr}`);
  t.notMatch(stderr, noCrash, 'no EPIPE or stack trace');
});

t.test('events whose reader went away stops at the next event and exits 0', async (t) => {
  const { child, trigger: other } = await eventsCliWithTrigger(t);
  const done = finished(child, 30_000);
  child.stdout!.destroy();
  // Events until the child notices its reader is gone (the first write after it left fails).
  let exited = false;
  void done.then(() => (exited = true));
  while (!exited) {
    await other.execute('stop');
    await other.execute('cont');
  }
  const result = await done;
  t.equal(result.code, 0, `a reader that left ends the loop with exit 0; stderr: ${result.stderr}`);
  t.equal(result.signal, null, 'not killed');
  t.notMatch(result.stderr, noCrash, 'no EPIPE or stack trace');
});
