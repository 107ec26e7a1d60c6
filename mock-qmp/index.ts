// mock-qmp: record real QEMU monitor traffic and replay it as a QMP server, with fault injection.
export {
  parseTrace,
  readTrace,
  TraceWriter,
  createTraceSink,
  TraceFormatError,
  type Trace,
  type TraceHeader,
  type TraceMessage,
  type TraceEnd,
  type TraceEndReason,
  type TraceSink,
  type TraceWriterOptions,
} from './trace.js';
export { startRecorder, type Recorder, type RecorderOptions } from './recorder.js';
export { startMockQmp, ReplayDeviationError, type MockQmpOptions, type MockQmpServer } from './server.js';
export { parseFault, FaultPlan, FaultSpecError, FAULT_SPECS, type Fault } from './faults.js';
