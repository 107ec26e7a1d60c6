// QMPBJ_QEMU_COMPAT puts every qemu-system-x86_64 the tests, benchmarks and record-fixtures start
// (QemuProcess) under QEMU's deprecation policy (`-compat`); CI sets it on its newest stack to
// "deprecated-input=reject,deprecated-output=hide", so a test fails the day the code sends
// something QEMU deprecated. Proved here on the QEMU itself: each command its schema marks
// deprecated (read from a second QEMU started without the policy) is refused as disabled by policy,
// and no job verb the library would choose is among them.
import t from 'tap';
import { QmpCommandError } from '../src/errors.js';
import { chooseJobVerbs, jobVerbs, qmpSchema } from '../src/protocol/capabilities.js';
import { qemuCompatFromEnv } from '../src/transport/qemu-process.js';
import { startQemu } from './helpers/qemu.js';

const compat = qemuCompatFromEnv();

t.test(
  'QEMU runs under the deprecation policy QMPBJ_QEMU_COMPAT names',
  {
    skip:
      compat === undefined ? 'QMPBJ_QEMU_COMPAT is not set: the QEMUs of this run take no -compat (CI sets it on its newest stack, ci/stack.sh trixie)' : false,
  },
  async (t) => {
    const rejects = compat!.split(',').includes('deprecated-input=reject');
    const plain = await startQemu(t, { compat: '' });
    const schema = await qmpSchema(plain.client);
    const deprecated = [...schema.deprecatedCommands].sort();
    t.ok(deprecated.length > 0, `this QEMU marks some command deprecated (${deprecated.join(', ')})`);
    const verbs = chooseJobVerbs(schema);
    t.same(await jobVerbs(plain.client), verbs, 'the jobs choose from query-commands what the schema would choose');
    for (const { command } of Object.values(verbs)) t.notOk(schema.deprecatedCommands.has(command), `${command}, which the jobs send, is not deprecated`);
    for (const kept of ['block-job-cancel', 'block-job-set-speed'])
      t.notOk(schema.deprecatedCommands.has(kept), `${kept}, which the jobs keep, is not deprecated`);

    const { client } = await startQemu(t);
    for (const name of deprecated) {
      const error = await client.execute(name as 'query-status', {} as never).then(
        () => undefined,
        (e: unknown) => e,
      );
      if (rejects) {
        t.ok(error instanceof QmpCommandError, `${name} is refused under ${compat}`);
        t.same(
          [(error as QmpCommandError).errorClass, (error as QmpCommandError).desc],
          ['CommandNotFound', `Deprecated command ${name} disabled by policy`],
          `${name}: QEMU's words for the policy`,
        );
      } else {
        t.notMatch(
          (error as QmpCommandError | undefined)?.desc ?? '',
          /disabled by policy/,
          `${name} is not refused by a policy without deprecated-input=reject`,
        );
      }
    }
    if (compat!.split(',').includes('deprecated-output=hide')) {
      const hidden = await qmpSchema(client);
      t.same(
        deprecated.filter((name) => hidden.commands.has(name)),
        [],
        'deprecated-output=hide leaves every deprecated command out of the schema',
      );
      t.same(chooseJobVerbs(hidden), verbs, 'the job verbs chosen are the same with the policy as without');
    }
  },
);
