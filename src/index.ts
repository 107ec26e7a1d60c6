// The public surface of qmp-blockjob. Everything a caller needs is exported from here.
export {
  QmpClient,
  ConnectionState,
  DEFAULT_COMMAND_TIMEOUT_MS,
  type QmpClientOptions,
  type QmpClientEvents,
  type ConnectTarget,
  type CommandOptions,
  type EventWaitOptions,
  type EventStreamOptions,
  type TrafficDirection,
  type TrafficSink,
} from './protocol/client.js';
export {
  QmpError,
  ConnectError,
  ProtocolError,
  EventOverflowError,
  MalformedMessageError,
  OversizedMessageError,
  NotQmpServerError,
  QmpCommandError,
  ConnectionClosedError,
  StateError,
  QmpTimeoutError,
  AbortedError,
  MonitorUnresponsiveError,
  type QmpErrorOptions,
} from './errors.js';
export { EventHistory, matchesFilter, type EventFilter } from './protocol/events.js';
export { LineFramer, DEFAULT_MAX_MESSAGE_BYTES, type QmpMessage } from './framing.js';
export type { Transport, TransportHandlers, ConnectOptions } from './transport/transport.js';
export { SocketTransport, describeAddress, type SocketAddress } from './transport/socket.js';
export * from './qapi/types.js';
export { qmpSchema, commandHasArgument, isProtocolDriver, type QmpSchema } from './protocol/capabilities.js';
export type { WaitOptions } from './util/wait.js';
export type { LivenessOptions } from './protocol/liveness.js';
export { MAX_TIMER_MS, setLongTimeout, timeoutSignal, type LongTimer } from './util/timers.js';
export { QemuProcess, type QemuLaunchOptions, type QemuExit } from './transport/qemu-process.js';
export {
  ImageToolError,
  createImage,
  qemuIo,
  compareImages,
  imageChain,
  convertImage,
  type CreateImageOptions,
  type QemuIoOptions,
  type ImageInfoJson,
} from './transport/qemu-img.js';
export * from './block/index.js';
export * from './jobs/index.js';
export {
  VirshTransport,
  connectVirsh,
  parseEventLine,
  VirshError,
  type VirshTransportOptions,
  type VirshConnectInfo,
  type VirshTarget,
} from './transport/virsh/index.js';
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
