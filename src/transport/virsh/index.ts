// The virsh transport: QMP to a libvirt domain through `virsh qemu-monitor-command` / `qemu-monitor-event`.
export { VirshTransport, type VirshTransportOptions, type VirshConnectInfo } from './transport.js';

export { parseEventLine, type ParsedEventLine } from './wire.js';
export { VirshError, runVirsh, type VirshTarget } from './exec.js';
