/**
 * Reading the YAML files a user names (experiment configs, sweep files) with positions for errors. Apart from
 * config/load.ts, which builds the experiment schema from the registries, so that reading a sweep file (`mtl runs`
 * lists sweeps) loads neither the registries nor, through them, TF.js.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument, type Document } from 'yaml';
import { UsageError } from '../errors.js';
import { LineCounter } from './positions.js';

/** A file the user named (a config, a sweep file), read as UTF-8; a missing or unreadable one is a UsageError. */
export function readUserFile(file: string, what: string, whatToPass: string): string {
  try {
    return readFileSync(path.resolve(file), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const What = what.charAt(0).toUpperCase() + what.slice(1);
    throw new UsageError(
      code === 'ENOENT'
        ? `${What} file not found: ${file}. ${whatToPass}`
        : `Cannot read ${what} file ${file}: ${(error as Error).message}`,
    );
  }
}

/** A YAML file's document with its line counter (positions for errors); a syntax error is a UsageError per line. */
export function parseYamlDocument(text: string, displayName: string): { doc: Document; lineCounter: LineCounter } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new UsageError(
      `${displayName} is not valid YAML:`,
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        // The library's first line ends "at line L, column C:" (its excerpt followed): the position leads instead.
        const message = (e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
        return `${displayName}${pos ? `:${pos.line}:${pos.col}` : ''}: ${message}`;
      }),
    );
  }
  return { doc, lineCounter };
}
