// `qmp-blockjob qmp …` against a real QEMU: the reply pretty-printed, errors as one line with exit 1.
import t from 'tap';
import { startQemu } from './helpers/qemu.js';
import { runCli } from './helpers/cli.js';

t.test('qmp prints the return value, in every argument form and option position', async (t) => {
  const { qemu, client } = await startQemu(t);
  await client.close(); // the CLI needs the monitor
  const forms: string[][] = [
    ['--socket', qemu.socketPath, 'qmp', 'query-status'],
    ['qmp', 'query-status', '--socket', qemu.socketPath],
    ['qmp', '{"execute": "query-status"}', '--socket', qemu.socketPath],
    ['--socket', qemu.socketPath, 'qmp', 'query-named-block-nodes', 'flat=true'],
  ];
  for (const args of forms) {
    const result = await runCli(args);
    t.equal(result.code, 0, `exit 0 for ${args.join(' ')}; stderr: ${result.stderr}`);
    t.doesNotThrow(() => JSON.parse(result.stdout), `stdout should be one pretty JSON value for ${args.join(' ')}`);
  }
  const status = await runCli(['--socket', qemu.socketPath, 'qmp', 'query-status']);
  t.match(JSON.parse(status.stdout), { status: String }, 'query-status should print its return value');
  t.match(status.stdout, /\n {2}"/, 'the reply should be pretty-printed');
});

t.test('a refused command exits 1 with the QMP class and desc on one line', async (t) => {
  const { qemu, client } = await startQemu(t);
  await client.close();
  // block-job-cancel: not deprecated on any QEMU we run (block-job-complete is since 10.1, refused under the policy).
  const result = await runCli(['--socket', qemu.socketPath, 'qmp', 'block-job-cancel', 'device=nope']);
  t.equal(result.code, 1, 'exit code should be 1');
  t.equal(result.stderr.trim(), "error: block-job-cancel failed: DeviceNotActive: Block job 'nope' not found", 'stderr should be exactly one clear line');
  const json = await runCli(['--socket', qemu.socketPath, '--json', 'qmp', 'block-job-cancel', 'device=nope']);
  t.same(
    JSON.parse(json.stdout.trim()),
    { type: 'reply', command: 'block-job-cancel', error: { class: 'DeviceNotActive', desc: "Block job 'nope' not found" } },
    '--json should print the error as an object',
  );
});
