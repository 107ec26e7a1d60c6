// client.events({ signal }) with one signal for many streams: each stream that ends removes its abort
// listener, so 20,000 streams leave none (they once left one each: +38 MB per 100k, then quadratic).
import { getEventListeners } from 'node:events';
import t from 'tap';
import { AbortedError } from '../src/index.js';
import { startQemu } from './helpers/qemu.js';

t.test('20,000 ended event streams on one signal leave no abort listener behind', async (t) => {
  const { client } = await startQemu(t);
  const controller = new AbortController();
  for (let i = 0; i < 20_000; i++) {
    const stream = client.events({ signal: controller.signal, names: ['STOP'] });
    await stream.return?.();
  }
  t.equal(getEventListeners(controller.signal, 'abort').length, 0, 'ended streams should leave no abort listener');
  // A live stream still ends when the signal fires (rejecting: AbortedError), and its listener goes with it.
  const live = client.events({ signal: controller.signal, names: ['STOP'] });
  t.equal(getEventListeners(controller.signal, 'abort').length, 1, 'a live stream listens to the signal');
  const next = live.next();
  controller.abort();
  await t.rejects(next, AbortedError, 'the signal should end the live stream with AbortedError');
  t.equal(getEventListeners(controller.signal, 'abort').length, 0, 'and its listener should be gone');
  await client.execute('stop');
  await client.execute('cont');
});
