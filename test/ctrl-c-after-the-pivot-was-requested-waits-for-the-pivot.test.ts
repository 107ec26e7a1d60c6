// Ctrl-C after job-complete was sent cannot take the pivot back. The CLI says so, waits for
// QEMU to finish it, and reports the pivot — never "cannot abort … Block job not found" (the old
// behaviour) and never advice that the old top is still the disk: `commit --pivot` and `job DISK
// --pivot` on a commit left at READY alike. The test holds job-complete in a proxy until the CLI
// has had its Ctrl-C, then lets it through.
import path from 'node:path';
import t from 'tap';
import { CommitJob, qemuIo, resolveDisk } from '../src/internal.js';
import { buildSeedChain, expectedView, readChecks } from './helpers/chain.js';
import { extraMonitorArgs, finished, startCli } from './helpers/cli.js';
import { holdFirst } from './helpers/held-reply.js';
import { startQemu, tempDir } from './helpers/qemu.js';
import { rangeOf } from './helpers/range.js';

for (const [name, pivotArgs] of [
  ['commit --active --pivot', ['commit', 'drive0', '--active', '--pivot']],
  ['job DISK --pivot on a commit left at READY', ['job', 'drive0', '--pivot']],
] as const)
  t.test(`SIGINT while the job-complete of ${name} is on its way`, async (t) => {
    const dir = tempDir(t);
    const cli = path.join(dir, 'cli.sock');
    const layers = await buildSeedChain(dir);
    const { client, qemu } = await startQemu(t, { dir, args: ['-drive', `if=none,id=drive0,file=${layers[3]!.file},format=qcow2`, ...extraMonitorArgs(cli)] });
    const proxy = await holdFirst(t, dir, cli, 'job-complete', 'command'); // the command QEMU's schema chooses on every QEMU we run
    if (pivotArgs[0] === 'job') {
      // Started and left at READY by another client (QEMU's main monitor), as `commit --active --wait` leaves it.
      const started = await CommitJob.start(client, rangeOf(await resolveDisk(client, 'drive0'), 4, 1), { autoDismiss: false });
      await started.waitUntilReady({ timeoutMs: 30_000 });
      await started.detach();
    }
    const child = startCli([...pivotArgs, '--socket', proxy.path]);
    t.teardown(() => child.kill('SIGKILL'));
    let stderr = '';
    const warned = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no word that the pivot was already requested within 15 s; stderr: ${stderr}`)), 15_000);
      child.stderr?.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('already requested')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const done = finished(child);
    await proxy.held;
    child.kill('SIGINT');
    await warned;
    proxy.release();
    const result = await done;
    t.equal(result.code, 0, `the pivot went through and is reported; stderr: ${stderr}`);
    t.match(stderr, /the pivot was already requested: waiting for QEMU to finish it/, 'Ctrl-C is answered with what is going on');
    t.match(result.stdout, /^Successfully pivoted$/m, "virsh's words");
    t.notMatch(stderr, /cannot abort|not found/, 'no abort of a job that is pivoting');
    t.same(
      (await resolveDisk(client, 'drive0')).layers.map((l) => l.file),
      [layers[0]!.file],
      'the guest runs on base',
    );
    await client.execute('quit').catch(() => undefined);
    await qemu.exited;
    await t.resolves(qemuIo(layers[0]!.file, readChecks(expectedView(layers)), { format: 'raw' }), 'base holds the guest view');
  });
