// A package of its own that depends on qmp-blockjob as an embedder's does: the library is packed
// (npm pack) and unpacked into its node_modules, so only package.json "exports" reach it.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './qemu.js';

/** Installs the packed library into `app`/node_modules, its dependencies (and typescript, @types/node) beside it. */
export function installPackedLibrary(app: string): void {
  const packed = path.join(app, 'packed');
  mkdirSync(packed, { recursive: true });
  const [info] = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--pack-destination', packed], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
  ) as Array<{ filename: string }>;
  const installed = path.join(app, 'node_modules', 'qmp-blockjob');
  mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['xzf', path.join(packed, info!.filename), '--strip-components=1', '-C', installed]);
  const modules = path.join(repoRoot, 'node_modules');
  for (const name of readdirSync(modules)) {
    if (name === 'qmp-blockjob' || name.startsWith('.')) continue;
    symlinkSync(path.join(modules, name), path.join(app, 'node_modules', name));
  }
}

/** Runs the package's own tsc (strict settings from its tsconfig.json) once over all its sources. */
export function typeCheck(app: string): { status: number | null; output: string } {
  const tsc = spawnSync(process.execPath, [path.join(app, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(app, 'tsconfig.json')], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: tsc.status, output: `${tsc.stdout}${tsc.stderr}` };
}
