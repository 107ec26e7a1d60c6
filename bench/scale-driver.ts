// Child process of bench/scale.ts: ONE process drives active commit + pivot on every disk it is given,
// all at once, and prints one JSON line: wall time, each job's READY → block-job-complete reaction
// latency seen from inside the library, outcomes and chains after, and the process's peak RSS.
// A process of its own so that its peak RSS is the driver's alone, not the bench runner's.
import { resolveCommitRange } from '../src/block/address.js';
import { resolveDisk } from '../src/block/chain.js';
import { CommitJob } from '../src/jobs/commit.js';
import { connect } from '../src/connect.js';

export interface ScaleTarget {
  socket: string;
  /** Drive ids `vd<i>`; the base node of each is `b<i>`. */
  disks: string[];
}
export interface ScaleOutcome {
  wallMs: number;
  reactionUs: number[];
  outcomes: string[];
  /** Disks whose chain after the pivot is not just their base. */
  badChains: string[];
  maxRssKiB: number;
}

const targets = JSON.parse(process.argv[2] ?? '[]') as ScaleTarget[];
const readyAt = new Map<string, bigint>();
const reactionUs: number[] = [];

// Keyed by QEMU and job id: every QEMU has its own commit-vd0 …
const clients = await Promise.all(
  targets.map(async (target, q) => {
    const client = await connect(
      { path: target.socket },
      {
        traffic: (direction, message) => {
          if (direction !== 'out') return;
          const m = message as { execute?: string; arguments?: { device?: string; id?: string } };
          // The complete command as the job sends it: job-complete (id), or block-job-complete (device) where the schema chose it.
          const completing = m.execute === 'job-complete' ? m.arguments?.id : m.execute === 'block-job-complete' ? m.arguments?.device : undefined;
          const ready = completing ? readyAt.get(`${q}/${completing}`) : undefined;
          if (ready !== undefined) reactionUs.push(Number(process.hrtime.bigint() - ready) / 1e3);
        },
      },
    );
    // The first of JOB_STATUS_CHANGE "ready" and BLOCK_JOB_READY starts the clock (the job acts on either).
    client.on('event', (e) => {
      const job = e.event === 'BLOCK_JOB_READY' ? e.data?.device : e.event === 'JOB_STATUS_CHANGE' && e.data?.status === 'ready' ? e.data.id : undefined;
      if (typeof job === 'string' && !readyAt.has(`${q}/${job}`)) readyAt.set(`${q}/${job}`, process.hrtime.bigint());
    });
    return { client, target };
  }),
);

const start = process.hrtime.bigint();
const outcomes = await Promise.all(
  clients.flatMap(({ client, target }) =>
    target.disks.map(async (node) => {
      const range = resolveCommitRange(await resolveDisk(client, node), {});
      const job = await CommitJob.start(client, range, { jobId: `commit-${node}` });
      await job.waitUntilReady({ timeoutMs: 60_000 });
      return (await job.pivot({ timeoutMs: 60_000 })).outcome;
    }),
  ),
);
const wallMs = Number(process.hrtime.bigint() - start) / 1e6;

const badChains: string[] = [];
for (const { client, target } of clients) {
  for (const node of target.disks) {
    const base = node.replace(/^vd/, 'b');
    const disk = await resolveDisk(client, node);
    if (disk.layers.length !== 1 || disk.layers[0]?.nodeName !== base) badChains.push(`${node}: ${disk.layers.map((l) => l.nodeName).join(' <- ')}`);
  }
  await client.close();
}
process.stdout.write(`${JSON.stringify({ wallMs, reactionUs, outcomes, badChains, maxRssKiB: process.resourceUsage().maxRSS } satisfies ScaleOutcome)}\n`);
