#!/usr/bin/env bash
# The unit tier with nothing on PATH but node: no qemu-*, no virsh, no shell tools. A unit test that
# reaches for QEMU or libvirt fails here instead of quietly becoming an integration test.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
ln -s "$(command -v node)" "$bin/node"
PATH="$bin" exec node node_modules/tap/dist/esm/run.mjs --disable-coverage 'dist/test/unit/*.test.js'
