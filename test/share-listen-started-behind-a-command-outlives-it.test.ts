// `share --listen` started while another command (a commit) holds the monitor goes through that
// command's share; when the commit ends, share goes on instead of stopping (the commit's connection is
// handed to a keeper process, src/share/keeper.ts, or share connects again if that fails): a client
// connected before keeps its connection and is answered, a new client connects, other qmp-blockjob
// commands on the socket go through share now, and it stops only when told.
import net from 'node:net';
import path from 'node:path';
import t from 'tap';
import { buildSeedChain } from './helpers/chain.js';
import { extraMonitorArgs, finished, jsonLines, runCli, startCli, waitForLine } from './helpers/cli.js';
import { startQemu, tempDir } from './helpers/qemu.js';
import { onJsonLines } from './helpers/json-lines.js';

/** A raw client sending newline-less commands; `ask` resolves with the reply carrying its id. */
function rawClient(socketPath: string): { ask(execute: string, args?: unknown): Promise<Record<string, unknown>>; closed: Promise<void>; socket: net.Socket } {
  const socket = net.connect(socketPath);
  const waiting = new Map<number, (m: Record<string, unknown>) => void>();
  let id = 0;
  onJsonLines(socket, (message) => {
    if (typeof message.id === 'number') waiting.get(message.id)?.(message);
  });
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return {
    socket,
    closed,
    ask: (execute, args) =>
      new Promise((resolve, reject) => {
        const n = ++id;
        const timer = setTimeout(() => reject(new Error(`no reply to ${execute} within 15 s`)), 15_000);
        waiting.set(n, (m) => {
          clearTimeout(timer);
          resolve(m);
        });
        socket.write(JSON.stringify({ execute, ...(args ? { arguments: args } : {}), id: n }));
      }),
  };
}

t.test('share --listen behind a commit keeps serving after the commit ends', async (t) => {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const shared = path.join(dir, 'shared.sock');
  const layers = await buildSeedChain(dir);
  await startQemu(t, { dir, args: ['-drive', `if=none,id=drive0,file=${layers[3]!.file},format=qcow2`, ...extraMonitorArgs(cli)] });
  const holder = startCli(['commit', 'drive0', '--active', '--pivot', '--bandwidth', '1', '--bytes', '--json', '--socket', cli]);
  t.teardown(() => holder.kill('SIGKILL'));
  const held = finished(holder, 60_000);
  await waitForLine(holder, (line) => line.includes('"type":"started"'));
  const share = startCli(['share', '--listen', shared, '--socket', cli]);
  t.teardown(() => share.kill('SIGKILL'));
  const shareDone = finished(share, 60_000);
  await waitForLine(share, (line) => line.startsWith('Sharing '));

  const early = rawClient(shared);
  t.match(await early.ask('qmp_capabilities'), { return: {} }, 'a client negotiates through share');
  let earlyClosed = false;
  void early.closed.then(() => {
    earlyClosed = true;
  });
  // The client lets the commit run at full speed: it reaches READY and its command pivots and ends.
  t.match(await early.ask('block-job-set-speed', { device: 'commit-drive0', speed: 0 }), { return: {} }, "and changes the job's speed");
  const first = await held;
  t.equal(first.code, 0, `the commit that held the monitor pivoted and ended; stderr: ${first.stderr}`);

  const after = await early.ask('query-block-jobs').catch(async (error: Error) => {
    share.kill('SIGTERM');
    const { stdout, stderr } = await shareDone;
    throw new Error(`${error.message}; share said: ${stdout} ${stderr}`);
  });
  t.match(after, { return: [] }, 'the client connected before is still answered after the holder ended');
  t.notOk(earlyClosed, 'its connection was never closed');
  const late = rawClient(shared);
  t.match(await late.ask('qmp_capabilities'), { return: {} }, 'a new client connects to share');
  t.match(await late.ask('query-block'), { return: [{ device: 'drive0', inserted: { file: layers[0]!.file } }] }, 'and sees the pivoted disk');
  const jobs = await runCli(['jobs', '--json', '--socket', cli], 20_000);
  t.equal(jobs.code, 0, `another command on the socket goes through share now; stderr: ${jobs.stderr}`);
  t.same(
    jsonLines(jobs.stdout).filter((l) => l.type === 'job'),
    [],
    'and lists no job',
  );

  share.kill('SIGTERM');
  const stopped = await shareDone;
  t.equal(stopped.code, 0, 'share stops when told');
  t.match(stopped.stdout, /Sharing stopped/, 'and says so');
  await early.closed;
});
