// Under exactOptionalPropertyTypes an embedder can write `{ speed: maybe }` with `maybe` undefined
// only where the field is declared `speed?: T | undefined`. Every optional field of every input of
// the front doors (the parameters of each exported function, constructor and public method of the
// main entry, ./testing and ./mock-qmp, and the arguments of every typed QMP command) must take
// `undefined`: the compiler is asked, field by field, with the embedder's settings.
import path from 'node:path';
import t from 'tap';
import ts from 'typescript';
import { repoRoot } from '../helpers/qemu.js';
import { STRICT_EMBEDDER_OPTIONS } from '../helpers/strict-ts.js';

const ENTRIES = ['src/index.ts', 'src/testing.ts', 'mock-qmp/index.ts'];

interface Field {
  /** "src/jobs/types.ts:82 AttachOptions.disk" */
  where: string;
  /** How an embedder reaches it: "CommitJob.attach(options)". */
  via: string;
  takesUndefined: boolean;
}

function optionalInputFields(): Field[] {
  const program = ts.createProgram(
    ENTRIES.map((e) => path.join(repoRoot, e)),
    STRICT_EMBEDDER_OPTIONS,
  );
  const checker = program.getTypeChecker();
  const fields = new Map<string, Field>();
  const fieldsOf = (via: string, type: ts.Type): void => {
    for (const part of type.isUnion() ? type.types : [type]) {
      if (!(part.flags & ts.TypeFlags.Object) || part.getCallSignatures().length > 0) continue;
      for (const prop of part.getProperties()) {
        if (!(prop.flags & ts.SymbolFlags.Optional)) continue;
        const decl = prop.valueDeclaration ?? prop.declarations?.[0];
        const file = decl?.getSourceFile();
        if (!decl || !file || file.isDeclarationFile) continue; // Node's own types
        const line = file.getLineAndCharacterOfPosition(decl.getStart()).line + 1;
        const where = `${path.relative(repoRoot, file.fileName)}:${line} ${part.aliasSymbol?.name ?? part.getSymbol()?.name ?? '?'}.${prop.name}`;
        // A method signature (`f?(): T`) never takes undefined; a property does when its declared type has it.
        const takesUndefined =
          ts.isPropertySignature(decl) || ts.isPropertyDeclaration(decl)
            ? decl.type !== undefined && checker.isTypeAssignableTo(checker.getUndefinedType(), checker.getTypeFromTypeNode(decl.type))
            : false;
        if (!fields.has(where)) fields.set(where, { where, via, takesUndefined });
      }
    }
  };
  const parameters = (via: string, signatures: readonly ts.Signature[]): void => {
    for (const signature of signatures)
      for (const parameter of signature.getParameters()) fieldsOf(`${via}(${parameter.name})`, checker.getNonNullableType(checker.getTypeOfSymbol(parameter)));
  };
  for (const entry of ENTRIES) {
    const module = checker.getSymbolAtLocation(program.getSourceFile(path.join(repoRoot, entry))!)!;
    for (const exported of checker.getExportsOfModule(module)) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      if (symbol.flags & ts.SymbolFlags.Function) parameters(exported.name, checker.getTypeOfSymbol(symbol).getCallSignatures());
      if (!(symbol.flags & ts.SymbolFlags.Class)) continue;
      const constructor = checker.getTypeOfSymbol(symbol);
      parameters(`new ${exported.name}`, constructor.getConstructSignatures());
      for (const member of constructor.getProperties()) parameters(`${exported.name}.${member.name}`, checker.getTypeOfSymbol(member).getCallSignatures());
      for (const member of checker.getDeclaredTypeOfSymbol(symbol).getProperties()) {
        const decl = member.valueDeclaration;
        if (decl && ts.getCombinedModifierFlags(decl) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) continue;
        parameters(`${exported.name}#${member.name}`, checker.getTypeOfSymbol(member).getCallSignatures());
      }
    }
  }
  // The typed execute(): each command's arguments.
  const qapi = program.getSourceFile(path.join(repoRoot, 'src/qapi/types.ts'))!;
  const commands = checker.getExportsOfModule(checker.getSymbolAtLocation(qapi)!).find((s) => s.name === 'QmpCommandMap')!;
  for (const command of checker.getDeclaredTypeOfSymbol(commands).getProperties()) {
    const args = checker.getTypeOfSymbol(command).getProperty('args');
    if (args) fieldsOf(`execute('${command.name}')`, checker.getNonNullableType(checker.getTypeOfSymbol(args)));
  }
  return [...fields.values()];
}

t.test('every optional field of a public input takes undefined under exactOptionalPropertyTypes', (t) => {
  const fields = optionalInputFields();
  const names = new Set(fields.map((f) => f.where.replace(/^\S+ /, '')));
  // The walk reaches the option types an embedder uses most (else it would pass by checking nothing).
  for (const known of [
    'CommitOptions.speed',
    'CommitOptions.cancelSignal',
    'PullOptions.keepRelative',
    'MirrorOptions.copyMode',
    'BackupOptions.incremental',
    'AttachOptions.disk',
    'ProgressOptions.intervalMs',
    'WaitOptions.timeoutMs',
    'EventStreamOptions.jobId',
    'MockQmpOptions.model',
    'BlockCommitArguments.speed',
    'BlockdevMirrorArguments.copy-mode',
  ]) {
    t.ok(names.has(known), `${known} should be among the fields checked`);
  }
  t.ok(fields.length >= 150, `the optional input fields of the front doors should all be walked (found ${fields.length})`);
  const refusing = fields.filter((f) => !f.takesUndefined).map((f) => `${f.where} (via ${f.via})`);
  t.same(refusing, [], 'each optional input field should be declared `?: T | undefined`');
  t.end();
});
