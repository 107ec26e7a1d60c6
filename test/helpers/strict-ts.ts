// The compiler options an embedder's strictest project uses (strict, exactOptionalPropertyTypes, NodeNext): the type tests compile under them.
import ts from 'typescript';

export const STRICT_EMBEDDER_OPTIONS: ts.CompilerOptions = {
  strict: true,
  exactOptionalPropertyTypes: true,
  noUncheckedIndexedAccess: true,
  noEmit: true,
  skipLibCheck: true,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2022,
  types: ['node'],
};
