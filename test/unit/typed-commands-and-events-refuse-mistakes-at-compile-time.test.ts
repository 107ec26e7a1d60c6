// execute() with a known command name accepts only its typed arguments (a misspelt or mistyped one
// does not compile); unknown names need executeUntyped(); isEvent() narrows an event's data. The
// file test/compile-errors/misspelt-command-arguments.ts is compiled here: errors exactly on its
// lines marked "error expected", none elsewhere.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import ts from 'typescript';
import { repoRoot } from '../helpers/qemu.js';
import { STRICT_EMBEDDER_OPTIONS } from '../helpers/strict-ts.js';

t.test('typed execute refuses misspelt arguments at compile time', (t) => {
  const file = path.join(repoRoot, 'test', 'compile-errors', 'misspelt-command-arguments.ts');
  const expected = readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((line, i) => (line.includes('// error expected') ? [i + 1] : []));
  t.equal(expected.length, 5, 'the file marks five mistakes');
  const program = ts.createProgram([file], STRICT_EMBEDDER_OPTIONS);
  const diagnostics = ts.getPreEmitDiagnostics(program);
  const inFile = diagnostics.filter((d) => d.file?.fileName === file);
  const elsewhere = diagnostics
    .filter((d) => d.file?.fileName !== file)
    .map((d) => `${d.file?.fileName}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
  t.same(elsewhere, [], 'the library itself compiles under strict + exactOptionalPropertyTypes');
  const lines = [...new Set(inFile.map((d) => d.file!.getLineAndCharacterOfPosition(d.start ?? 0).line + 1))].sort((a, b) => a - b);
  const messages = inFile.map((d) => `${d.file!.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
  t.same(lines, expected, `errors exactly on the marked lines:\n${messages.join('\n')}`);
  t.end();
});
