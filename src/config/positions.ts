import { isMap, isPair, isScalar, isSeq, LineCounter, type Document, type Node } from 'yaml';

/** A place in a source text, 1-based, for messages like `config.yaml:12:5`. */
export interface SourcePosition {
  line: number;
  column: number;
}

/**
 * Finds the YAML node for a JSON path and reports its position. For a missing key we point at the closest existing
 * ancestor, which is where the user has to add it.
 */
export function positionOf(
  doc: Document,
  lineCounter: LineCounter,
  path: readonly (string | number)[],
  options: { key?: boolean } = {},
): SourcePosition | undefined {
  for (let depth = path.length; depth >= 0; depth--) {
    const prefix = path.slice(0, depth);
    const node =
      options.key && depth === path.length ? keyNode(doc, prefix) : (doc.getIn(prefix, true) as Node | undefined);
    const range = node && 'range' in node ? node.range : undefined;
    if (range) {
      const { line, col } = lineCounter.linePos(range[0]);
      return { line, column: col };
    }
  }
  return undefined;
}

/** The key node of the last path segment, so "unknown field" errors point at the misspelled key itself. */
function keyNode(doc: Document, path: readonly (string | number)[]): Node | undefined {
  if (path.length === 0) return undefined;
  const parent = doc.getIn(path.slice(0, -1), true) ?? (path.length === 1 ? doc.contents : undefined);
  const last = path[path.length - 1];
  if (isMap(parent)) {
    for (const item of parent.items) {
      if (isPair(item) && isScalar(item.key) && String(item.key.value) === String(last)) return item.key;
    }
  }
  if (isSeq(parent) && typeof last === 'number') return parent.items[last] as Node | undefined;
  return undefined;
}

export { LineCounter };
