// QEMU's own Python clients (test/helpers/qemu-peers.ts) against `mock-qmp serve --model` replaying
// the active-commit fixture of every recorded QEMU: the legacy client and qmp-shell get the recorded
// greeting and answers (query-block as QEMU gave it, query-block-jobs empty, an unknown command
// refused as QEMU refuses it); QMPClient runs an active commit with its own job id and sees the job's
// every state, READY, its own block-job-complete and the completion, after which the disk reads base.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { startMockQmp } from '../mock-qmp/index.js';
import { fixturePath, fixtureSets, tempDir } from './helpers/qemu.js';
import { completed, peersScript, printed, python, qemuPython } from './helpers/qemu-peers.js';

interface Image {
  filename: string;
  'backing-image'?: Image;
}

/** The recorded first query-block reply, and the file at the bottom of drive0's chain. */
function recorded(file: string): { block: unknown; base: string; version: unknown } {
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { dir?: string; msg?: Record<string, unknown> });
  const id = lines.find((l) => l.dir === 'out' && l.msg?.execute === 'query-block')?.msg?.id;
  const block = lines.find((l) => l.dir === 'in' && l.msg && 'return' in l.msg && JSON.stringify(l.msg.id) === JSON.stringify(id))?.msg?.return as Array<{
    device: string;
    inserted: { image: Image };
  }>;
  let image = block.find((b) => b.device === 'drive0')!.inserted.image;
  while (image['backing-image']) image = image['backing-image'];
  const greeting = lines.find((l) => l.dir === 'in' && l.msg && 'QMP' in l.msg)?.msg as { QMP: { version: unknown } };
  return { block, base: image.filename, version: greeting.QMP.version };
}

for (const set of fixtureSets()) {
  t.test(`${set}: qmp-shell, QMPClient and the legacy client against mock-qmp`, async (t) => {
    const py = qemuPython(t);
    if (!py) return;
    const trace = fixturePath('active-commit-pivot.jsonl', set);
    const want = recorded(trace);
    const dir = tempDir(t);
    const socket = path.join(dir, 'mock.sock');
    const server = await startMockQmp({ trace, socket, model: true, instant: true });
    t.teardown(() => server.close());

    const legacy = await completed(python(py, [peersScript, 'legacy', socket, 'query-block', 'query-block-jobs', 'no-such-command']));
    t.equal(legacy.code, 0, `the legacy client ran; stderr: ${legacy.stderr}`);
    const [greeting, block, jobs, unknown] = printed(legacy.stdout);
    t.same((greeting?.greeting as { QMP: { version: unknown } } | undefined)?.QMP.version, want.version, "greeted with the recorded QEMU's version");
    t.same(block, { command: 'query-block', reply: { return: want.block } }, 'query-block as QEMU answered it');
    t.same(jobs, { command: 'query-block-jobs', reply: { return: [] } }, 'no job yet');
    t.same(
      unknown,
      { command: 'no-such-command', reply: { error: { class: 'CommandNotFound', desc: 'The command no-such-command has not been found' } } },
      "an unknown command refused in QEMU's words",
    );

    const shell = await completed(python(py, ['-m', 'qemu.qmp.qmp_shell', socket], 'query-block-jobs\n'));
    t.equal(shell.code, 0, `qmp-shell ran; stderr: ${shell.stderr}`);
    t.same(printed(shell.stdout), [{ return: [] }], `qmp-shell got the answer; stdout: ${shell.stdout}`);

    const job = await completed(python(py, [peersScript, 'commit', socket, 'drive0', 'peer-commit']));
    t.equal(job.code, 0, `QMPClient ran the commit to its end; stderr: ${job.stderr}`);
    const lines = printed(job.stdout);
    const statuses = lines.filter((l) => l.event === 'JOB_STATUS_CHANGE').map((l) => l.data as { status: string; id: string });
    t.same(
      statuses.map((s) => s.status),
      ['created', 'running', 'ready', 'waiting', 'pending'],
      'every state of its job up to the completion, in order',
    );
    t.ok(
      statuses.every((s) => s.id === 'peer-commit'),
      "under the client's own job id",
    );
    t.same(
      lines.filter((l) => 'event' in l && l.event !== 'JOB_STATUS_CHANGE').map((l) => l.event),
      ['BLOCK_JOB_READY', 'BLOCK_JOB_COMPLETED'],
      'READY, then COMPLETED after its block-job-complete',
    );
    t.same(lines.at(-1), { image: want.base }, 'afterwards drive0 reads base, as on QEMU');
  });
}
