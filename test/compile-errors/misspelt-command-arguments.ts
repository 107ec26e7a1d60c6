// Compiled (never run) by test/unit/typed-commands-and-events-refuse-mistakes-at-compile-time.test.ts:
// each line marked "error expected" must fail to compile, every other line must compile.
import { isEvent, type QmpClient, type QmpEvent } from '../../src/index.js';

export async function misspelt(client: QmpClient, event: QmpEvent): Promise<void> {
  await client.execute('block-commit', { devic: 'drive0' }); // error expected: misspelt argument
  await client.execute('block-job-set-speed', { device: 'job0', speed: '1M' }); // error expected: wrong type
  await client.execute('no-such-command'); // error expected: unknown names go through executeUntyped
  await client.execute('block-job-set-speed', { device: 'job0', speed: 1024 });
  await client.executeUntyped('no-such-command', { anything: 1 });
  const jobs = await client.execute('query-block-jobs');
  const offset: number = jobs[0]?.offset ?? 0;
  const wrong: string = jobs[0]?.offset ?? ''; // error expected: the reply is typed
  if (isEvent(event, 'BLOCK_JOB_READY')) {
    const device: string = event.data.device;
    const len: number = event.data.len;
    const nope: string = event.data.len; // error expected: narrowed event data is typed
    void [device, len, nope];
  }
  void [offset, wrong];
}
