// A byte-forwarding UNIX-socket proxy, run as a child process (fork) by bench/reaction.ts. It sits between
// a client and a QEMU monitor and timestamps (process.hrtime) the BLOCK_JOB_READY line passing QEMU →
// client and the job-complete line passing client → QEMU, per job id, and sends each job's
// reaction latency to the parent over IPC.
//
// A separate process, not the bench process: in the client's process the proxy's 'data' callbacks would
// wait behind the client's own JavaScript, so a slow client would delay the READY timestamp and hide part
// of its own latency. Here the clock is read by an event loop that does nothing else.
import net from 'node:net';

export interface ProxyRoute {
  listen: string;
  target: string;
}
export interface ProxyReport {
  route: string;
  job: string;
  latencyUs: number;
}

const routes = JSON.parse(process.argv[2] ?? '[]') as ProxyRoute[];
const jobIdIn = (line: string): string | undefined => /"device":\s*"([^"]*)"/.exec(line)?.[1];

/** The job id of a readiness event line (BLOCK_JOB_READY, or JOB_STATUS_CHANGE to "ready"), else undefined. */
function readyJob(line: string): string | undefined {
  if (line.includes('"BLOCK_JOB_READY"')) return jobIdIn(line);
  if (line.includes('"JOB_STATUS_CHANGE"') && /"status":\s*"ready"/.test(line)) return /"id":\s*"([^"]*)"/.exec(line)?.[1];
  return undefined;
}

/** Calls `onLine(line, t)` for each whole line; `t` is when the chunk that completed it arrived. */
function lineScanner(onLine: (line: string, t: bigint) => void): (chunk: Buffer, t: bigint) => void {
  let partial = '';
  return (chunk, t) => {
    const text = partial + chunk.toString('latin1');
    const lines = text.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) onLine(line, t);
  };
}

let listening = 0;
for (const route of routes) {
  const server = net.createServer((client) => {
    const qemu = net.connect(route.target);
    const readyAt = new Map<string, bigint>();
    const fromQemu = lineScanner((line, t) => {
      // QEMU sends JOB_STATUS_CHANGE "ready" just before BLOCK_JOB_READY, sometimes in another chunk; a
      // client may act on either, so the clock starts at the first of the two.
      const job = readyJob(line);
      if (job !== undefined && !readyAt.has(job)) readyAt.set(job, t);
    });
    const fromClient = lineScanner((line, t) => {
      if (!line.includes('"job-complete"') && !line.includes('"block-job-complete"')) return;
      // job-complete names the job by arguments.id, block-job-complete by arguments.device.
      const job = /"arguments":\s*\{[^}]*"(?:id|device)":\s*"([^"]*)"/.exec(line)?.[1];
      const ready = job === undefined ? undefined : readyAt.get(job);
      if (job !== undefined && ready !== undefined) {
        process.send?.({ route: route.listen, job, latencyUs: Number(t - ready) / 1e3 } satisfies ProxyReport);
      }
    });
    // Clock first, forward next, scan last: the proxy's own parsing is not in the measured path.
    qemu.on('data', (chunk: Buffer) => {
      const t = process.hrtime.bigint();
      client.write(chunk);
      fromQemu(chunk, t);
    });
    client.on('data', (chunk: Buffer) => {
      const t = process.hrtime.bigint();
      qemu.write(chunk);
      fromClient(chunk, t);
    });
    const end = (): void => {
      client.destroy();
      qemu.destroy();
    };
    qemu.on('close', end).on('error', end);
    client.on('close', end).on('error', end);
  });
  server.listen(route.listen, () => {
    if (++listening === routes.length) process.send?.({ listening: true });
  });
}
process.on('disconnect', () => process.exit(0));
