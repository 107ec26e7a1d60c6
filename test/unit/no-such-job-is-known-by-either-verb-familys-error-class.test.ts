// "No such job" comes in two classes: block-job-* says DeviceNotActive "Block job 'x' not found",
// job-* says GenericError "Job not found" (QEMU 7.2 to 11.1). isJobNotFound takes both, from the
// replies real QEMUs gave (recorded), and nothing else they refused with.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { QmpCommandError } from '../../src/errors.js';
import { isJobNotFound } from '../../src/jobs/errors.js';
import { fixtureFile, fixtureSets } from './helpers/recorded.js';

/** Every recorded error reply of `file` with the command it answered. */
function recordedErrors(file: string): QmpCommandError[] {
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { dir?: string; msg?: Record<string, unknown> });
  const sent = new Map(lines.filter((l) => l.dir === 'out').map((l) => [JSON.stringify(l.msg?.id), String(l.msg?.execute)]));
  return lines
    .filter((l) => l.dir === 'in' && l.msg?.error)
    .map((l) => {
      const error = l.msg!.error as { class: string; desc: string };
      return new QmpCommandError(sent.get(JSON.stringify(l.msg!.id)) ?? '?', undefined, error.class, error.desc);
    });
}

for (const set of fixtureSets()) {
  const files = [fixtureFile(set, 'error-replies.jsonl'), fixtureFile(set, path.join('raw', 'invalid-sequences.jsonl'))].filter(
    (f): f is string => f !== undefined,
  );
  t.test(`${set.name}: the recorded refusals`, async (t) => {
    const errors = files.flatMap(recordedErrors);
    const notFound = errors.filter((e) => isJobNotFound(e)).map((e) => `${e.command}: ${e.errorClass}: ${e.desc.replace(/'[^']*'/, "'X'")}`);
    t.ok(
      notFound.some((s) => s.startsWith('job-') && s.endsWith('GenericError: Job not found')),
      `job-*'s "Job not found" is recognised: ${notFound.join('; ')}`,
    );
    if (files.length > 1)
      t.ok(
        notFound.some((s) => s.startsWith('block-job-') && s.includes("DeviceNotActive: Block job 'X' not found")),
        "block-job-*'s DeviceNotActive is recognised",
      );
    const others = errors.filter((e) => !isJobNotFound(e));
    t.ok(others.length > 0, 'there are other refusals');
    t.same(
      others.filter((e) => /not found/i.test(e.desc) && e.errorClass !== 'DeviceNotFound'),
      [],
      'no other refusal is taken for a missing job (a missing device is DeviceNotFound, not a job)',
    );
  });
}
