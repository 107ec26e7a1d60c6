// `snapshot --quiesce` against qemu-guest-agent in a booted Linux guest: during the transaction the
// agent says "frozen"; afterwards "thawed", on success and on every way out (QEMU's error, Ctrl-C,
// the freeze bound, a lost QMP connection), with nothing created when it failed. The CLI says which
// filesystems it froze; without an agent, or with one that does not answer, it refuses and creates
// nothing.
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import t, { type Test } from 'tap';
import {
  AbortedError,
  ConnectionClosedError,
  connect,
  connectGuestAgent,
  createQuiescedSnapshots,
  FreezeTimeoutError,
  GuestAgentUnavailableError,
  QmpCommandError,
  type BlockQueryClient,
  type GuestAgent,
} from '../src/internal.js';
import { guestKernel } from './helpers/guest.js';
import { bootGuestOnBase, type GuestOnBase } from './helpers/guest-chain.js';

const kernel = guestKernel(t);

/** A client that runs `during` when the transaction is sent, then (unless it throws) QEMU's. */
function duringTransaction(
  client: BlockQueryClient & { readonly state?: unknown },
  during: (signal: AbortSignal | undefined) => Promise<void>,
): BlockQueryClient & { readonly state?: unknown } {
  return {
    // The connection's state as the real client has it: a command refused before it was sent is no unknown outcome.
    get state() {
      return client.state;
    },
    execute: client.execute,
    executeUntyped: async (name: string, args?: Record<string, unknown>, options?: { signal?: AbortSignal }) => {
      if (name === 'transaction') await during(options?.signal);
      return client.executeUntyped(name, args, options);
    },
  };
}

async function freezeStatus(agent: GuestAgent): Promise<unknown> {
  return agent.execute('guest-fsfreeze-status');
}

if (kernel) {
  t.test('quiesced snapshots on a booted guest', async (t) => {
    const g: GuestOnBase = await bootGuestOnBase(t, kernel);
    const agentPath = g.guest.agentSocket!;
    const agent = await connectGuestAgent({ path: agentPath });
    t.teardown(() => agent.close());
    const client = g.guest.client;

    await t.test('success: frozen during the transaction, thawed after, the overlay is the disk', async (t) => {
      const file = path.join(g.dir, 'q1.qcow2');
      let during: unknown;
      const result = await createQuiescedSnapshots(
        duringTransaction(client, async () => {
          during = await freezeStatus(agent);
        }),
        [{ disk: 'vda', file }],
        { agent },
      );
      t.equal(during, 'frozen', 'the agent says the guest is frozen while the transaction is sent');
      t.equal(await freezeStatus(agent), 'thawed', 'thawed afterwards');
      t.match(result.filesystems, [/^\/mnt \(ext4 on /], `the frozen filesystem is named: ${result.filesystems.join(', ')}`);
      t.equal(result.frozenCount, 1, 'one filesystem was frozen');
      t.same(await g.chain(), [g.base, file], 'the overlay is the active layer');
      t.comment(`frozen for ${result.frozenMs} ms`);
    });

    const failing: Array<[string, (file: string) => Promise<unknown>, (t: Test, error: unknown) => void]> = [
      [
        "QEMU's error",
        (file) => createQuiescedSnapshots(client, [{ disk: 'vda', file: path.join(file, 'no-such-dir', 'x.qcow2') }], { agent }),
        (t, e) => t.ok(e instanceof QmpCommandError && e.command === 'transaction', `QEMU's transaction error comes through: ${String(e)}`),
      ],
      [
        'Ctrl-C (the abort signal) once frozen, before the transaction is sent',
        (file) => {
          const ctrlC = new AbortController();
          // The agent's freeze answers, then Ctrl-C: the transaction must not be sent.
          const ctrlCAfterFreeze: GuestAgent = {
            target: agent.target,
            close: () => agent.close(),
            execute: async (command, args, options) => {
              const answer = await agent.execute(command, args, options);
              if (command === 'guest-fsfreeze-freeze') ctrlC.abort();
              return answer;
            },
          };
          return createQuiescedSnapshots(client, [{ disk: 'vda', file }], { agent: ctrlCAfterFreeze, signal: ctrlC.signal });
        },
        (t, e) => t.ok(e instanceof AbortedError, `the snapshot is aborted before it is sent: ${String(e)}`),
      ],
      [
        'a lost QMP connection',
        async (file) => {
          const second = await connect({ path: g.cli });
          return createQuiescedSnapshots(
            duringTransaction(second, async () => second.close()),
            [{ disk: 'vda', file }],
            { agent },
          );
        },
        (t, e) => t.ok(e instanceof ConnectionClosedError, `the lost connection is said: ${String(e)}`),
      ],
    ];
    for (const [i, [how, run, check]] of failing.entries()) {
      await t.test(`${how}: thawed, nothing created`, async (t) => {
        const before = await g.chain();
        const file = path.join(g.dir, `fail${i}.qcow2`);
        const error = await run(file).then(
          () => undefined,
          (e: unknown) => e,
        );
        check(t, error);
        t.equal(await freezeStatus(agent), 'thawed', 'the guest is thawed');
        t.same(await g.chain(), before, 'the chain is unchanged');
        t.notOk(existsSync(file), 'no overlay file is left');
      });
    }

    await t.test('Ctrl-C while the transaction is in flight: its reply is awaited, the guest is thawed after it and runs on the overlay', async (t) => {
      const before = await g.chain();
      const file = path.join(g.dir, 'inflight.qcow2');
      const ctrlC = new AbortController();
      // Once sent, a transaction is never given up on: calling a live overlay "aborted" would invite its deletion.
      const result = await createQuiescedSnapshots(
        duringTransaction(client, async () => ctrlC.abort()),
        [{ disk: 'vda', file }],
        { agent, signal: ctrlC.signal },
      );
      t.equal(await freezeStatus(agent), 'thawed', 'the guest is thawed');
      t.same(await g.chain(), [...before, file], 'the overlay QEMU created is the active layer');
      t.same(result.chains[0]?.layers.at(-1)?.file, file, 'the returned chain ends with the overlay');
    });

    await t.test('the freeze bound, with a QEMU that answers only once the guest is thawed: thawed at the bound, the outcome said', async (t) => {
      const before = await g.chain();
      const file = path.join(g.dir, 'late.qcow2');
      // This QEMU sends its answer only once the guest was thawed (seen on the agent's line, which the
      // quiesce code alone uses): only the bound can thaw it.
      let thawAnswered!: () => void;
      const thawed = new Promise<void>((resolve) => {
        thawAnswered = resolve;
      });
      const seeingThaw: GuestAgent = {
        target: agent.target,
        close: () => agent.close(),
        execute: async (command, args, options) => {
          const answer = await agent.execute(command, args, options);
          if (command === 'guest-fsfreeze-thaw') thawAnswered();
          return answer;
        },
      };
      const lateQemu = duringTransaction(client, () =>
        Promise.race([
          thawed,
          new Promise<void>((_, reject) => setTimeout(() => reject(new Error('the guest was never thawed while the transaction waited')), 20_000).unref()),
        ]),
      );
      const error = await createQuiescedSnapshots(lateQemu, [{ disk: 'vda', file }], { agent: seeingThaw, freezeTimeoutMs: 1500 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      t.ok(error instanceof FreezeTimeoutError && error.freezeTimeoutMs === 1500, `the freeze bound is said: ${String(error)}`);
      t.equal((error as FreezeTimeoutError).snapshotTaken, true, 'QEMU then took the snapshot, and the error says so');
      t.same((error as FreezeTimeoutError).overlays, [file], 'the error names the image the guest runs on now');
      t.equal(await freezeStatus(agent), 'thawed', 'the guest is thawed');
      t.same(await g.chain(), [...before, file], 'the overlay is the active layer, as the error says');
    });

    await t.test('the CLI: --quiesce --agent says what it froze; the guest writes afterwards', async (t) => {
      agent.close();
      const file = path.join(g.dir, 'q2.qcow2');
      const result = await g.run('snapshot', 'vda', '--file', file, '--quiesce', '--agent', agentPath);
      t.equal(result.code, 0, `quiesced snapshot; stderr: ${result.stderr}`);
      t.match(result.stdout, /^Quiesced: froze \/mnt \(ext4 on .*\) for \d+ ms, thawed$/m, `says which filesystem it froze: ${result.stdout}`);
      t.equal((await g.chain()).at(-1), file, 'the overlay is the active layer');
      await g.guest.writeFile('f/after-quiesce', 64);
      await g.guest.verifyFiles(t, 'after the quiesced snapshots');
    });

    await t.test('refused without an agent, or with one that does not answer: nothing created', async (t) => {
      const before = await g.chain();
      const none = path.join(g.dir, 'none.qcow2');
      const missing = await g.run('snapshot', 'vda', '--file', none, '--quiesce', '--agent', path.join(g.dir, 'no-agent.sock'));
      t.equal(missing.code, 1, 'no agent socket: the command fails');
      t.match(missing.stderr, /guest agent at .*no-agent\.sock: no guest agent socket/, `a clear error: ${missing.stderr}`);
      const noFlag = await g.run('snapshot', 'vda', '--file', none, '--quiesce');
      t.equal(noFlag.code, 2, `--quiesce without --agent over a socket is a usage error: ${noFlag.stderr}`);
      // A socket that accepts and never answers: the agent is not running in the guest.
      const silentPath = path.join(g.dir, 'silent.sock');
      const silent = net.createServer(() => {});
      await new Promise<void>((resolve) => silent.listen(silentPath, resolve));
      t.teardown(() => silent.close());
      const t0 = Date.now();
      await t.rejects(
        connectGuestAgent({ path: silentPath }, { timeoutMs: 1000 }),
        GuestAgentUnavailableError,
        'the library: an agent that does not answer guest-sync-delimited is unavailable',
      );
      const cli = await g.run('snapshot', 'vda', '--file', none, '--quiesce', '--agent', silentPath);
      t.equal(cli.code, 1, 'an agent that does not answer: the command fails');
      t.match(cli.stderr, /does not answer/, `a clear error: ${cli.stderr}`);
      t.ok(Date.now() - t0 < 30_000, 'within bounded time');
      // The real agent, stopped in the guest (SIGSTOP): it takes the connection but answers nothing.
      await g.guest.run('kill -STOP "$(cat /var/run/qga.pid)"');
      const stopped = await g.run('snapshot', 'vda', '--file', none, '--quiesce', '--agent', agentPath);
      await g.guest.run('kill -CONT "$(cat /var/run/qga.pid)"');
      t.equal(stopped.code, 1, 'a stopped qemu-guest-agent: the command fails');
      t.match(stopped.stderr, /guest agent at .*ga\.sock: the agent does not answer/, `a clear error: ${stopped.stderr}`);
      const resumed = await connectGuestAgent({ path: agentPath });
      t.equal(await freezeStatus(resumed), 'thawed', 'the guest was never frozen');
      resumed.close();
      t.same(await g.chain(), before, 'the chain is unchanged');
      t.notOk(existsSync(none), 'no overlay file was created');
    });
    await g.guest.powerOff();
  });
}
