// Every way of calling the CLI wrongly exits 2 with one clear line and the usage, before connecting anywhere.
import t from 'tap';
import { runCli } from './helpers/cli.js';

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
];

for (const [name, args, expected] of cases) {
  t.test(name, async (t) => {
    const result = await runCli(args, 20_000);
    t.equal(result.code, 2, `exit code should be 2 for ${name}; stderr: ${result.stderr}`);
    t.match(result.stderr + result.stdout, expected, `the message should explain the mistake (${name})`);
    t.notMatch(result.stderr, /\n\s+at /, 'no stack trace should be printed');
  });
}

t.test('--help for every command exits 0 and shows examples', async (t) => {
  for (const command of ['qmp', 'events', 'demo']) {
    const result = await runCli([command, '--help']);
    t.equal(result.code, 0, `${command} --help should exit 0`);
    t.match(result.stdout, /Examples:/, `${command} --help should show examples`);
  }
});
