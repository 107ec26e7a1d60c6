// qmp-blockjob/internal: every building block, for this project's tests, benchmarks and mock-qmp,
// and for tools that need a layer the front door (src/index.ts) does not show. No stability promise.
export * from './index.js';
export * from './block/index.js';
export * from './jobs/index.js';
export * from './testing.js';
export * from './qapi/types.js';
export { DEFAULT_COMMAND_TIMEOUT_MS } from './protocol/client.js';
export { DEFAULT_CONNECT_TIMEOUT_MS } from './transport/transport.js';
export { EventHistory, matchesFilter, type EventFilter } from './protocol/events.js';
export { LineFramer, DEFAULT_MAX_MESSAGE_BYTES, type QmpMessage } from './framing.js';
export { SocketTransport, describeAddress } from './transport/socket.js';
export { qmpSchema, isProtocolDriver, type QmpSchema } from './protocol/capabilities.js';
export { ListenError } from './transport/byte-stream.js';
export { ProcessError } from './transport/process.js';
export { TraceFileError } from './trace/file.js';
export { TraceFormatError } from './trace/format.js';
export { MAX_TIMER_MS, setLongTimeout, timeoutSignal, type LongTimer } from './util/timers.js';
export { VirshTransport, parseEventLine, VirshError, type VirshConnectInfo, type VirshTarget } from './transport/virsh/index.js';
export {
  domblklist,
  dumpxml,
  libvirtDiskIndices,
  parseDomainDisks,
  parseDomblklist,
  LibvirtDiskError,
  type LibvirtDisk,
  type LibvirtImage,
} from './transport/libvirt.js';
export { applyLibvirtIndices } from './block/libvirt-indices.js';
