// The qmp-trace format for mock-qmp: written by the product (src/trace/), read and replayed here.
export * from '../src/trace/format.js';
export { TraceWriter, createTraceSink, type TraceWriterOptions, type TraceSink } from '../src/trace/writer.js';
export { parseTrace, readTrace } from '../src/trace/reader.js';
