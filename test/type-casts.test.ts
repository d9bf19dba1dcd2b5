/**
 * Casts that change nothing. `e as T` (or `<T>e`) in src/ and test/ is reported when the checker types `e` as the
 * very type T already (identity, under tsconfig.test.json's options) and, with every such cast deleted, the
 * program still types `e` as T. The second check keeps the casts that steer inference: in `tf.add(a, b) as
 * tf.Scalar` the generic return type is inferred from the cast itself, and `[1, 2] as [number, number]` would
 * widen without it. `as const` is never reported. And an index read is asserted with `x[i]!`, not cast: `x[i] as T`
 * where T is the read's type less `undefined` is reported too. docs/architecture.md, "Decisions worth knowing"
 * (Indexing).
 */
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');

type Cast = ts.AsExpression | ts.TypeAssertion;

function inScope(file: string): boolean {
  return /^(src|test)\//.test(path.relative(root, file).split(path.sep).join('/'));
}

function location(cast: Cast): string {
  const file = cast.getSourceFile();
  const line = file.getLineAndCharacterOfPosition(cast.getStart()).line + 1;
  const text = cast.getText().replace(/\s+/g, ' ');
  return `${path.relative(root, file.fileName)}:${line}: ${text.length > 120 ? `${text.slice(0, 117)}...` : text}`;
}

/**
 * The program of tsconfig.test.json, on a host that hands out each parsed file once (so a second program reuses them).
 */
function createProgram(): { program: ts.Program; host: ts.CompilerHost; config: ts.ParsedCommandLine } {
  const config = ts.getParsedCommandLineOfConfigFile(path.join(root, 'tsconfig.test.json'), undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    },
  });
  if (!config) throw new Error('tsconfig.test.json could not be read');
  const base = ts.createCompilerHost(config.options, true);
  const parsed = new Map<string, ts.SourceFile | undefined>();
  const host: ts.CompilerHost = {
    ...base,
    getSourceFile: (fileName, languageVersion, onError, shouldCreate) => {
      if (!parsed.has(fileName))
        parsed.set(fileName, base.getSourceFile(fileName, languageVersion, onError, shouldCreate));
      return parsed.get(fileName);
    },
  };
  return { program: ts.createProgram({ rootNames: config.fileNames, options: config.options, host }), host, config };
}

/** Every cast in the files of src/ and test/. */
function castsOf(program: ts.Program): Cast[] {
  const casts: Cast[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isAsExpression(node) || ts.isTypeAssertionExpression(node)) casts.push(node);
    ts.forEachChild(node, visit);
  };
  for (const file of program.getSourceFiles()) if (inScope(file.fileName)) visit(file);
  expect(casts.length).toBeGreaterThan(100); // the scan sees the project's files
  return casts;
}

/** The text a cast occupies besides its expression: ` as T` after it, `<T>` before it. */
function castRange(cast: Cast): [number, number] {
  return ts.isAsExpression(cast) ? [cast.expression.end, cast.end] : [cast.getStart(), cast.expression.getStart()];
}

/** The node spanning exactly [start, end) in `file`. */
function nodeAt(file: ts.SourceFile, start: number, end: number): ts.Node | undefined {
  let found: ts.Node | undefined;
  const visit = (node: ts.Node): void => {
    if (node.getStart(file) === start && node.end === end) found = node;
    if (node.pos <= start && node.end >= end) ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

/** Of `candidates`, those whose expression keeps its type in the program rebuilt with all of them deleted. */
function unchangedWithout(candidates: Cast[], built: ReturnType<typeof createProgram>): Cast[] {
  const { program, host, config } = built;
  const checker = program.getTypeChecker();
  const edits = new Map<string, { text: string; cuts: [number, number][] }>();
  for (const cast of candidates) {
    const file = cast.getSourceFile();
    const edit = edits.get(file.fileName) ?? { text: file.text, cuts: [] };
    edit.cuts.push(castRange(cast));
    edits.set(file.fileName, edit);
  }
  for (const edit of edits.values()) {
    // Nested casts cut disjoint ranges; cutting from the end keeps the earlier offsets valid.
    for (const [start, end] of [...edit.cuts].sort((a, b) => b[0] - a[0])) {
      edit.text = edit.text.slice(0, start) + edit.text.slice(end);
    }
  }
  const rebuilt = ts.createProgram({
    rootNames: config.fileNames,
    options: config.options,
    oldProgram: program,
    host: {
      ...host,
      getSourceFile: (fileName, languageVersion, onError, shouldCreate) => {
        const edit = edits.get(fileName);
        return edit
          ? ts.createSourceFile(fileName, edit.text, languageVersion, true)
          : host.getSourceFile(fileName, languageVersion, onError, shouldCreate);
      },
    },
  });
  const rechecked = rebuilt.getTypeChecker();
  const show = (c: ts.TypeChecker, type: ts.Type): string =>
    c.typeToString(type, undefined, ts.TypeFormatFlags.NoTruncation);
  return candidates.filter((cast) => {
    const file = cast.getSourceFile();
    const { cuts } = edits.get(file.fileName)!;
    const shift = (offset: number): number =>
      offset - cuts.filter(([, end]) => end <= offset).reduce((sum, [start, end]) => sum + end - start, 0);
    const rebuiltFile = rebuilt.getSourceFile(file.fileName);
    const expression =
      rebuiltFile && nodeAt(rebuiltFile, shift(cast.expression.getStart()), shift(cast.expression.end));
    return (
      expression !== undefined &&
      show(rechecked, rechecked.getTypeAtLocation(expression)) === show(checker, checker.getTypeFromTypeNode(cast.type))
    );
  });
}

let built: ReturnType<typeof createProgram> | undefined;
/** One program for both checks. */
function project(): ReturnType<typeof createProgram> {
  built ??= createProgram();
  return built;
}

describe('type casts', () => {
  it('none casts an expression to the type it already has', () => {
    const { program } = project();
    const checker = program.getTypeChecker();
    const candidates = castsOf(program).filter(
      (cast) =>
        !ts.isConstTypeReference(cast.type) &&
        checker.getTypeAtLocation(cast.expression) === checker.getTypeFromTypeNode(cast.type),
    );
    const noOps = candidates.length > 0 ? unchangedWithout(candidates, project()) : [];
    expect(noOps.map(location)).toEqual([]);
  });

  it('an index read is asserted with !, not cast to its type less undefined', () => {
    const { program } = project();
    const checker = program.getTypeChecker();
    const isIndexRead = (node: ts.Expression): node is ts.ElementAccessExpression =>
      ts.isElementAccessExpression(node) &&
      !ts.isOptionalChain(node) &&
      (checker.getBaseTypeOfLiteralType(checker.getTypeAtLocation(node.argumentExpression)).flags &
        ts.TypeFlags.NumberLike) !==
        0;
    const casts = castsOf(program).filter((cast) => {
      if (!isIndexRead(cast.expression)) return false;
      const read = checker.getTypeAtLocation(cast.expression);
      const to = checker.getTypeFromTypeNode(cast.type);
      return read !== to && checker.getNonNullableType(read) === to;
    });
    expect(casts.map(location)).toEqual([]);
  });
});
