// The job state machine against QEMU's own transition table, edge by edge: every allowed move is
// taken without an anomaly, every other move is recorded as one (never silently accepted).
import t from 'tap';
import { JOB_TRANSITIONS, JobStateMachine, isValidTransition } from '../../src/jobs/state.js';
import type { JobStatus, QmpEvent } from '../../src/qapi/types.js';

const statuses = Object.keys(JOB_TRANSITIONS) as JobStatus[];
const change = (status: JobStatus, seconds: number): QmpEvent => ({
  event: 'JOB_STATUS_CHANGE',
  data: { id: 'j', status },
  timestamp: { seconds, microseconds: 0 },
});

/** A machine brought to `from` along allowed moves (attach-time status for the odd ones). */
function machineAt(from: JobStatus): JobStateMachine {
  return new JobStateMachine('j', from, 1);
}

for (const from of statuses) {
  t.test(`from ${from}`, async (t) => {
    for (const to of statuses) {
      if (from === 'undefined' && to === 'undefined') continue;
      const machine = machineAt(from);
      machine.apply(change(to, 2));
      const allowed = isValidTransition(from, to);
      t.equal(machine.anomalies.length, allowed ? 0 : 1, `${from} → ${to} is ${allowed ? 'allowed' : 'an anomaly'} in QEMU's table`);
    }
  });
}

t.test('events of other jobs change nothing', async (t) => {
  const machine = new JobStateMachine('j');
  machine.apply({ event: 'JOB_STATUS_CHANGE', data: { id: 'other', status: 'created' }, timestamp: { seconds: 1, microseconds: 0 } });
  t.equal(machine.status, 'undefined', 'still undefined');
  t.same(machine.statuses, [], 'no history');
});

t.test('READY counts from the status or the event, whichever comes first, once', async (t) => {
  const machine = new JobStateMachine('j');
  let ready = 0;
  machine.on('ready', () => {
    ready++;
  });
  for (const s of ['created', 'running', 'ready'] as const) machine.apply(change(s, 1));
  machine.apply({ event: 'BLOCK_JOB_READY', data: { device: 'j', len: 1, offset: 1, speed: 0, type: 'commit' }, timestamp: { seconds: 2, microseconds: 0 } });
  t.equal(ready, 1, 'one ready');
  t.ok(machine.isReady && machine.hasBeenReady, 'ready now and since');
});
