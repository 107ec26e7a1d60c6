// mock-qmp serve --fault with an argument it cannot honour fails at once, exit 2, with a clear error:
// a delay-reply beyond node's longest timer once spun printing TimeoutOverflowWarning, an oversized
// reply of 512 MB or more told the client "Invalid string length".
import path from 'node:path';
import t from 'tap';
import { fixturePath, tempDir } from './helpers/qemu.js';
import { finished, startMockQmpCli } from './helpers/cli.js';

t.test('bad fault arguments are usage errors at parse time', async (t) => {
  const dir = tempDir(t);
  const cases = [
    ['delay-reply=query-status:2147483648', 'MS must be at most 2147483647 (≈ 24.8 days, the longest node timer), got 2147483648'],
    ['oversized=536870912', 'BYTES must be at most 268435456 (256 MiB: the reply is built as one string), got 536870912'],
    ['delay-reply=query-status:1.5', 'MS must be a non-negative integer, got "1.5"'],
    ['close-after=1e3', 'N must be a non-negative integer, got "1e3"'],
    ['oversized=99999999999999999999', 'BYTES must be a non-negative integer, got "99999999999999999999"'],
  ] as const;
  for (const [spec, reason] of cases) {
    const child = startMockQmpCli(['serve', '--trace', fixturePath('active-commit-pivot.jsonl'), '--socket', path.join(dir, 'm.sock'), '--fault', spec]);
    const result = await finished(child, 20_000);
    t.equal(result.code, 2, `${spec}: a usage error exits 2`);
    t.equal(result.stderr, `mock-qmp: bad --fault ${JSON.stringify(spec)}: ${reason} (see mock-qmp --help)\n`, `${spec}: the error should say what is wrong`);
  }
});
