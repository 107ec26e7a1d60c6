// README.md, docs/api.md and docs/guide.md stay true: every ```ts block in them is a complete
// program. They are written into a package of their own that depends on the packed library by name
// (package.json "exports" only, as an embedder's does), type-checked at once under strict + NodeNext +
// exactOptionalPropertyTypes, then each runs against its own real QEMU whose disk `vda` is the chain
// the docs name (base.qcow2 <- sn1 <- sn2 <- cur, relative links), its monitor in QMP_SOCKET. Each
// must exit 0, print the lines its `// → …` comments say, and leave the guest's view of vda intact.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { resolveDisk } from '../src/block/chain.js';
import { compareImages, convertImage, createImage, qemuIo } from '../src/transport/qemu-img.js';
import { docBlocks, missingLine, untestedCode } from './helpers/doc-blocks.js';
import { installPackedLibrary, typeCheck } from './helpers/packed-library.js';
import { startQemu, tempDir } from './helpers/qemu.js';

const docs = ['README.md', 'docs/api.md', 'docs/guide.md'];
const blocks = docs.flatMap(docBlocks);
const app = path.join(tempDir(t), 'app');
// About 45-60 s on a 2-core machine (one tsc, then one QEMU per block, one after the other); twice that when it is busy.
t.setTimeout(300_000);

t.before(() => {
  mkdirSync(path.join(app, 'src'), { recursive: true });
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'doc-blocks', private: true, type: 'module' }));
  writeFileSync(
    path.join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        lib: ['ES2023'],
        types: ['node'],
        rootDir: 'src',
        outDir: 'dist',
        strict: true,
        exactOptionalPropertyTypes: true,
        noUncheckedIndexedAccess: true,
        verbatimModuleSyntax: true,
        // The library's own .d.ts under these settings is the embedder test's to check; here it halves tsc's time.
        skipLibCheck: true,
      },
      include: ['src'],
    }),
  );
  for (const block of blocks) writeFileSync(path.join(app, 'src', `${block.name}.ts`), block.code);
  installPackedLibrary(app);
});

t.test('every block imports the library by name, with no any and no cast, and type-checks strictly', (t) => {
  t.ok(blocks.length >= 15, `found the blocks (${blocks.length})`);
  t.same(docs.flatMap(untestedCode), [], 'no code of the library hides in a fence this test does not run');
  for (const block of blocks) {
    const code = block.code.replace(/\/\/.*$/gm, '');
    t.match(code, /from 'qmp-blockjob'/, `${block.where}: imports what it uses (a complete program)`);
    t.notMatch(code, /qmp-blockjob\/internal|dist\/src|from '\./, `${block.where}: the library by name, through its exports only`);
    t.notMatch(code, /\bany\b/, `${block.where}: no any`);
    t.notMatch(code, /\bas\s+(?!const\b)[\w{[(]/, `${block.where}: no cast`);
  }
  const tsc = typeCheck(app);
  t.equal(tsc.status, 0, `tsc over every block: ${tsc.output}`);
  t.end();
});

/** The docs' disk: base.qcow2 <- sn1.qcow2 <- sn2.qcow2 <- cur.qcow2, 12 MiB, each layer its own data. */
async function docsChain(dir: string): Promise<string[]> {
  const layers: Array<[string, string[]]> = [
    ['base.qcow2', ['write -P 0x41 0 4M']],
    ['sn1.qcow2', ['write -P 0x42 2M 4M']],
    ['sn2.qcow2', ['write -P 0x43 5M 4M']],
    ['cur.qcow2', ['write -P 0x44 0 1M', 'write -P 0x44 8M 2M']],
  ];
  const files: string[] = [];
  for (const [i, [name, writes]] of layers.entries()) {
    const file = path.join(dir, name);
    await createImage(file, i === 0 ? { format: 'qcow2', size: '12M' } : { format: 'qcow2', backing: layers[i - 1]![0], backingFormat: 'qcow2' });
    await qemuIo(file, writes, { format: 'qcow2' });
    files.push(file);
  }
  return files;
}

function runBlock(file: string, env: Record<string, string>, cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [file], { cwd, env: { ...process.env, ...env }, timeout: 60_000, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      resolve({
        code: error ? (typeof error.code === 'number' ? error.code : null) : 0,
        stdout,
        stderr: `${stderr}${error?.killed ? '\n(killed after 60 s)' : ''}`,
      });
    });
  });
}

for (const block of blocks) {
  t.test(`${block.where} runs and prints what it says`, async (t) => {
    const dir = tempDir(t);
    const files = await docsChain(dir);
    const flat = path.join(dir, 'guest-view.raw');
    await convertImage(files.at(-1)!, flat, 'raw');
    const socket = path.join(dir, 'vm1.qmp');
    // The harness keeps QEMU's first monitor; the block gets its own.
    const { client, qemu } = await startQemu(t, {
      dir,
      args: ['-drive', `if=none,id=vda,file=${files.at(-1)},format=qcow2`, '-qmp', `unix:${socket},server=on,wait=off`],
    });
    const out = await runBlock(path.join(app, 'dist', `${block.name}.js`), { QMP_SOCKET: socket }, dir);
    t.equal(out.code, 0, `${block.where} exits 0; stderr: ${out.stderr}\nstdout: ${out.stdout}`);
    t.equal(missingLine(block.prints, out.stdout), undefined, `${block.where} prints every line it shows, in order; it printed:\n${out.stdout}`);
    // QEMU quits first, so every image it wrote is complete on disk before it is read.
    const active = (await resolveDisk(client, 'vda', { timeoutMs: 10_000 })).layers.at(-1)!.file;
    await client.execute('quit').catch(() => undefined);
    await qemu.exited;
    t.ok(await compareImages(active, flat), `${block.where}: the guest still sees its data through vda (${path.basename(active)})`);
  });
}
