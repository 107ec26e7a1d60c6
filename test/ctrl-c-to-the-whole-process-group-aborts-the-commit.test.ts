// A terminal's Ctrl-C reaches the whole foreground process group, not just our process. Over
// --socket and over --domain (where virsh children carry the monitor), the CLI must still send the
// cancel: "Commit aborted", no job left, the guest still on its whole chain, its data unchanged.
import { spawn } from 'node:child_process';
import path from 'node:path';
import t, { type Test } from 'tap';
import { qemuIo } from '../src/transport/qemu-img.js';
import { resolveDisk } from '../src/internal.js';
import { buildSeedChain, expectedView, readChecks } from './helpers/chain.js';
import { cliPath, extraMonitorArgs, finished, jsonLines, runCli, waitForLine } from './helpers/cli.js';
import { seedChainDomain } from './helpers/libvirt-chain.js';
import { libvirtOrSkip, LIBVIRT_URI } from './helpers/libvirt.js';
import { startQemu, tempDir } from './helpers/qemu.js';

/** Starts the CLI as the leader of a new process group (setsid, as a terminal's job), then Ctrl-C's the group once the job runs. */
async function ctrlCToGroup(t: Test, args: string[]) {
  const child = spawn(process.execPath, [cliPath, ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  t.teardown(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  });
  const done = finished(child, 60_000);
  await waitForLine(child, (line) => line.includes('"type":"progress"'), 30_000);
  process.kill(-child.pid!, 'SIGINT');
  const result = await done;
  const lines = jsonLines(result.stdout);
  t.equal(result.code, 1, `an aborted commit exits 1; stderr: ${result.stderr}`);
  t.ok(
    lines.some((l) => l.type === 'message' && l.message === 'Commit aborted'),
    `"Commit aborted" is reported; stderr: ${result.stderr}`,
  );
  t.equal(lines.find((l) => l.type === 'result')?.outcome, 'aborted', 'the job ended aborted');
}

t.test('over --socket', async (t) => {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const layers = await buildSeedChain(dir);
  const { client, qemu } = await startQemu(t, { dir, args: ['-drive', `if=none,id=drive0,file=${layers[3]!.file},format=qcow2`, ...extraMonitorArgs(cli)] });
  await ctrlCToGroup(t, ['commit', 'drive0', '--active', '--pivot', '--verbose', '--bandwidth', '1', '--socket', cli]);
  t.same(await client.execute('query-block-jobs'), [], 'no job is left');
  t.same(
    (await resolveDisk(client, 'drive0')).layers.map((l) => l.file),
    layers.map((l) => l.file),
    'the guest still runs on the whole chain',
  );
  await client.execute('quit').catch(() => undefined);
  await qemu.exited;
  await t.resolves(qemuIo(layers[3]!.file, readChecks(expectedView(layers)), { format: 'qcow2' }), 'the guest view is unchanged');
});

t.test('over --domain', async (t) => {
  if (!(await libvirtOrSkip(t))) return;
  const g = await seedChainDomain(t, tempDir(t));
  const connect = ['--domain', g.domain.name, '--connect', LIBVIRT_URI];
  await ctrlCToGroup(t, ['commit', 'vda', '--active', '--pivot', '--verbose', '--bandwidth', '1', ...connect]);
  const jobs = await runCli([...connect, 'jobs']);
  t.equal(jobs.stdout.trim(), 'No block jobs', 'no job is left');
  const chain = jsonLines((await runCli([...connect, 'chain', 'vda', '--json'])).stdout)[0] as { layers: Array<{ file: string }> };
  t.same(
    chain.layers.map((l) => l.file),
    [...g.files].reverse(),
    'the guest still runs on the whole chain',
  );
  await g.domain.destroy();
  await t.resolves(qemuIo(g.files[3], readChecks(expectedView(g.layers)), { format: 'qcow2' }), 'the guest view is unchanged');
});
