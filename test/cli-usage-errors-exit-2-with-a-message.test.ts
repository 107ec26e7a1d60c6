// Every way of calling the CLI wrongly exits 2 with one clear line and the usage, before connecting anywhere.
import t from 'tap';
import { spawn } from 'node:child_process';
import { cliPath, finished, runCli } from './helpers/cli.js';

const cases: Array<[string, string[], RegExp]> = [
  ['no command', [], /Commands:/],
  ['unknown command', ['frobnicate'], /unknown command 'frobnicate'/],
  ['unknown option', ['qmp', 'query-status', '--socket', '/x', '--bogus'], /--bogus/],
  ['qmp without a command', ['qmp', '--socket', '/x'], /qmp wants a command/],
  ['qmp with broken JSON', ['qmp', '{"execute":', '--socket', '/x'], /not valid JSON/],
  ['qmp JSON without execute', ['qmp', '{"arguments":{}}', '--socket', '/x'], /"execute"/],
  ['qmp with a bad key=value', ['qmp', 'block-job-pause', 'device', '--socket', '/x'], /expected key=value/],
  ['--socket and --tcp together', ['qmp', 'query-status', '--socket', '/x', '--tcp', 'localhost:1'], /exclude each other/],
  ['--tcp without a port', ['qmp', 'query-status', '--tcp', 'localhost'], /HOST:PORT/],
  ['--connect-timeout not a number', ['qmp', 'query-status', '--socket', '/x', '--connect-timeout', 'soon'], /--connect-timeout wants a positive number/],
  ['--connect without --domain', ['qmp', 'query-status', '--socket', '/x', '--connect', 'qemu:///system'], /--connect URI goes with --domain/],
  ['no monitor named', ['qmp', 'query-status'], /--socket PATH or --tcp HOST:PORT/],
  ['events --count not a number', ['events', '--socket', '/x', '--count', 'many'], /--count wants a whole number/],
  ['commit without a disk', ['commit', '--socket', '/x'], /commit wants a DISK/],
  ['commit --pivot with --keep-overlay', ['commit', 'vda', '--pivot', '--keep-overlay', '--socket', '/x'], /--pivot and --keep-overlay exclude each other/],
  ['commit --verbose without waiting', ['commit', 'vda', '--verbose', '--socket', '/x'], /--verbose needs --wait/],
  ['commit --bandwidth not a number', ['commit', 'vda', '--wait', '--bandwidth', 'fast', '--socket', '/x'], /--bandwidth wants a whole number/],
  ['commit --bytes alone', ['commit', 'vda', '--wait', '--bytes', '--socket', '/x'], /--bytes goes with --bandwidth/],
  ['commit --timeout zero', ['commit', 'vda', '--timeout', '0', '--socket', '/x'], /--timeout wants a positive number/],
  ['commit --shallow with --base', ['commit', 'vda', '--shallow', '--base', 'vda[1]', '--socket', '/x'], /shallow and base exclude each other/],
  ['commit --delete without waiting', ['commit', 'vda', '--delete', '--socket', '/x'], /--delete needs the job to be waited for/],
  [
    'commit --base empty (an unset variable)',
    ['commit', 'vda', '--base', '', '--top', 'vda[3]', '--wait', '--socket', '/x'],
    /--base wants a value, got an empty string/,
  ],
  ['commit --top empty (an unset variable)', ['commit', 'vda', '--top', '', '--wait', '--socket', '/x'], /--top wants a value, got an empty string/],
  [
    'commit --delete with --keep-overlay',
    ['commit', 'vda', '--keep-overlay', '--delete', '--socket', '/x'],
    /--delete with --keep-overlay: every image stays in the chain/,
  ],
  ['commit --delete with --active but no pivot', ['commit', 'vda', '--active', '--wait', '--delete', '--socket', '/x'], /--delete with --active needs --pivot/],
  ['job with two actions', ['job', 'vda', '--abort', '--pause', '--socket', '/x'], /choose one of/],
  ['job without a disk', ['job', '--socket', '/x'], /job wants a DISK/],
  ['snapshot without --file', ['snapshot', 'vda', '--socket', '/x'], /snapshot wants DISK --file PATH/],
  ['snapshot diskspec without file', ['snapshot', '--diskspec', 'vda', '--socket', '/x'], /names no file=PATH/],
  ['snapshot internal diskspec', ['snapshot', '--diskspec', 'vda,file=/a.qcow2,snapshot=internal', '--socket', '/x'], /only external/],
  [
    'snapshot both forms',
    ['snapshot', 'vda', '--file', '/a.qcow2', '--diskspec', 'vdb,file=/b.qcow2', '--socket', '/x'],
    /either DISK --file PATH or --diskspec/,
  ],
  ['chain without a disk', ['chain', '--socket', '/x'], /chain wants a DISK/],
  ['copy without --dest', ['copy', 'vda', '--pivot', '--socket', '/x'], /copy wants --dest FILE/],
  ['copy --pivot with --finish', ['copy', 'vda', '--dest', '/d.qcow2', '--pivot', '--finish', '--socket', '/x'], /--pivot and --finish exclude each other/],
  ['copy --format other than raw or qcow2', ['copy', 'vda', '--dest', '/d', '--format', 'vmdk', '--socket', '/x'], /--format is raw or qcow2/],
  ['copy --granularity not a number', ['copy', 'vda', '--dest', '/d', '--granularity', 'big', '--socket', '/x'], /--granularity wants a whole number of bytes/],
  ['copy --copy-mode unknown', ['copy', 'vda', '--dest', '/d', '--copy-mode', 'fast', '--socket', '/x'], /--copy-mode is background or write-blocking/],
  ['commit naming one disk twice', ['commit', 'vda', 'vda', '--active', '--pivot', '--socket', '/x'], /disk 'vda' is named twice/],
  ['copy --granularity not a power of two', ['copy', 'vda', '--dest', '/d', '--granularity', '3000', '--socket', '/x'], /granularity must be a power of two/],
  ['copy --buf-size 0', ['copy', 'vda', '--dest', '/d', '--buf-size', '0', '--socket', '/x'], /buf-size must be a whole number of bytes above 0/],
  ['copy --format raw --shallow', ['copy', 'vda', '--dest', '/d', '--format', 'raw', '--shallow', '--socket', '/x'], /a raw destination cannot: use qcow2/],
  ['snapshot to a relative path', ['snapshot', 'vda', '--file', 'rel.qcow2', '--socket', '/x'], /must be an absolute path/],
  ['snapshot --diskspec to a relative path', ['snapshot', '--diskspec', 'vda,file=rel.qcow2', '--socket', '/x'], /must be an absolute path/],
  ['copy --delete (not a copy option)', ['copy', 'vda', '--dest', '/d', '--delete', '--socket', '/x'], /--delete/],
];

// Each case is a CLI start and little else: four at a time (buffered).
t.jobs = 4;

for (const [name, args, expected] of cases) {
  t.test(name, async (t) => {
    const result = await runCli(args, 20_000);
    t.equal(result.code, 2, `exit code should be 2 for ${name}; stderr: ${result.stderr}`);
    t.match(result.stderr + result.stdout, expected, `the message should explain the mistake (${name})`);
    t.notMatch(result.stderr, /\n\s+at /, 'no stack trace should be printed');
  });
}

t.test('--help for every command exits 0 and shows examples', async (t) => {
  for (const command of ['blocks', 'chain', 'snapshot', 'commit', 'jobs', 'job', 'events', 'qmp', 'demo']) {
    const result = await runCli([command, '--help']);
    t.equal(result.code, 0, `${command} --help should exit 0`);
    t.match(result.stdout, /Examples:/, `${command} --help should show examples`);
  }
});

t.test('--version prints the package version', async (t) => {
  const { readFileSync } = await import('node:fs');
  const { repoRoot } = await import('./helpers/qemu.js');
  const pkg = JSON.parse(readFileSync(`${repoRoot}/package.json`, 'utf8')) as { version: string };
  const result = await runCli(['--version']);
  t.equal(result.stdout.trim(), `qmp-blockjob ${pkg.version}`, "the CLI version should be package.json's");
});

t.test("a file name that is not UTF-8 is refused: QMP's JSON cannot carry it", async (t) => {
  for (const args of [
    ['copy', 'vda', '--dest', "$'/tmp/n\\xffu.qcow2'", '--pivot'],
    ['snapshot', 'vda', '--file', "$'/tmp/n\\xffu.qcow2'"],
    ['snapshot', '--diskspec', "$'vda,file=/tmp/n\\xffu.qcow2'"],
  ]) {
    // Through bash: only a shell can put bytes that are not UTF-8 into argv.
    const child = spawn('bash', ['-c', `exec "${process.execPath}" "${cliPath}" ${args.join(' ')} --socket /x`], { stdio: ['ignore', 'pipe', 'pipe'] });
    const result = await finished(child, 20_000);
    t.equal(result.code, 2, `${args[0]}: exit 2; stderr: ${result.stderr}`);
    t.match(result.stderr, /is not valid UTF-8 .*QMP's JSON cannot carry such a file name/, `${args[0]}: says why`);
  }
});
