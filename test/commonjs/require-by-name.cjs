// A CommonJS caller: require('qmp-blockjob') through package.json "exports" (Node >= 20.19 loads
// the ES module with require). Run by test/unit/commonjs-callers-require-the-package-by-name.test.ts.
'use strict';
const assert = require('node:assert');
const qmp = require('qmp-blockjob');
const testing = require('qmp-blockjob/testing');
assert.strictEqual(typeof qmp.connect, 'function', 'connect is a function');
assert.strictEqual(typeof qmp.CommitJob.start, 'function', 'CommitJob.start is a function');
assert.ok(new qmp.MonitorBusyError('unix:/x', 1000) instanceof qmp.ConnectError, 'error classes keep their hierarchy');
assert.strictEqual(typeof testing.QemuProcess, 'function', 'qmp-blockjob/testing loads too');
process.stdout.write(JSON.stringify({ names: Object.keys(qmp).length, node: process.version }) + '\n');
