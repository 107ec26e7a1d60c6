/* A QmpClient for a libvirt domain, over the virsh transport. */
import { QmpClient, type QmpClientOptions } from '../../protocol/client.js';
import { VirshTransport, type VirshTransportOptions } from './transport.js';

/**
 * A QmpClient that talks to a libvirt domain: `VirshTransport.connect` + `QmpClient.connect({ transport })`.
 * The client behaves as over a socket (same API, errors and event objects).
 */
export async function connectVirsh(options: VirshTransportOptions, clientOptions: QmpClientOptions = {}): Promise<QmpClient> {
  const started = Date.now();
  const timeoutMs = options.connectTimeoutMs ?? clientOptions.connectTimeoutMs ?? 10_000;
  const transport = await VirshTransport.connect({ ...options, connectTimeoutMs: timeoutMs });
  return QmpClient.connect(
    { transport },
    { ...clientOptions, signal: clientOptions.signal ?? options.signal, connectTimeoutMs: Math.max(1, timeoutMs - (Date.now() - started)) },
  );
}
