// The library's debug hook: NODE_DEBUG=qmp-blockjob prints what it sends, receives and decides (node:util debuglog).
import { debuglog } from 'node:util';

export const debug = debuglog('qmp-blockjob');
