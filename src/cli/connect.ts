import { QmpClient, type QmpClientOptions } from '../protocol/client.js';
import type { GlobalOptions } from './args.js';
import { UsageError } from './args.js';

/** Opens the monitor the global options name. Trace and virsh hooks are added by later layers. */
export async function connectFromOptions(global: GlobalOptions, signal: AbortSignal, extra: QmpClientOptions = {}): Promise<QmpClient> {
  const options: QmpClientOptions = { connectTimeoutMs: global.connectTimeoutMs, signal, ...extra };
  if (global.socket) return QmpClient.connect({ path: global.socket }, options);
  if (global.tcp) return QmpClient.connect(global.tcp, options);
  throw new UsageError('name the monitor: --socket PATH or --tcp HOST:PORT (or --domain NAME for a libvirt guest)');
}
