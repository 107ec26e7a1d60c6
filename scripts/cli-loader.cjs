#!/usr/bin/env node
// The qmp-blockjob command (package.json's bin, copied to dist/cli.cjs by scripts/build-cli.mjs): runs
// the bundled CLI (dist/cli/bundle.cjs) with the V8 code cache the build made beside it, so that node
// neither parses the bundle nor compiles its start-up functions again (measured in docs/design.md,
// "The CLI bundle"). A cache from another node or V8 is rejected by V8 itself and the bundle is simply
// compiled: the cache only ever saves time.
'use strict';
const { readFileSync } = require('node:fs');
const path = require('node:path');
const { Script } = require('node:vm');

const bundle = path.join(__dirname, 'cli', 'bundle.cjs');
const cacheFile = `${bundle}.v8-cache`;

/** The bundle as one CommonJS module function, compiled with `cachedData` when given. */
function compile(cachedData) {
  const source = readFileSync(bundle, 'utf8').replace(/^#!.*/, '');
  return new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: bundle, cachedData });
}

function run(script) {
  script.runInThisContext()(exports, require, module, bundle, path.dirname(bundle));
}

if (require.main === module) {
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    // No cache (a build without it): compiled as any script.
  }
  run(compile(cachedData));
} else {
  module.exports = { compile, run, cacheFile };
}
