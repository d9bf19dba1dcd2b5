/**
 * The bytes of a CSV file before csv-parse reads them: they must be UTF-8 (else names and categories come out
 * garbled, or a UTF-16 file reads as one empty-looking column), and every line ending becomes LF. csv-parse takes
 * the first line's ending as the only record delimiter, so a Windows file with rows appended on Unix (CRLF header,
 * LF rows) would read as one huge row; it also counts CRLF inside a quoted field as two lines.
 */
import { readFile } from 'node:fs/promises';
import { Transform, type TransformCallback } from 'node:stream';
import { UsageError } from '../errors.js';

const CR = 0x0d;
const LF = 0x0a;
const NEWLINE = Buffer.from([LF]);

/** Byte order marks of encodings other than UTF-8, longest first (UTF-32LE starts with UTF-16LE's). */
const WIDE_BOMS: [bytes: number[], encoding: string, iconv: string][] = [
  [[0xff, 0xfe, 0x00, 0x00], 'UTF-32 (little-endian)', 'UTF-32'],
  [[0x00, 0x00, 0xfe, 0xff], 'UTF-32 (big-endian)', 'UTF-32'],
  [[0xff, 0xfe], 'UTF-16 (little-endian)', 'UTF-16'],
  [[0xfe, 0xff], 'UTF-16 (big-endian)', 'UTF-16'],
];

/** How to fix a file in another encoding; `iconv` names the encoding it is probably in. */
const saveAsUtf8 = (iconv: string): string =>
  `save it as UTF-8 (in a spreadsheet: "CSV UTF-8"; or convert it: iconv -f ${iconv} -t UTF-8 in.csv > out.csv)`;

/**
 * A stream stage that checks the file is UTF-8 and turns CRLF and CR into LF, also inside quoted fields, so that a
 * cell spanning lines reads the same whichever system wrote the file. The UTF-8 BOM passes on (csv-parse drops it).
 */
export function utf8WithLf(file: string, displayName: string): Transform {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let first = true;
  // The previous chunk ended in CR: an LF starting this one belongs to the same line ending.
  let afterCr = false;
  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback): void {
      if (first && chunk.length > 0) {
        first = false;
        const wide = WIDE_BOMS.find(([bom]) => bom.every((byte, i) => chunk[i] === byte));
        if (wide) {
          done(
            new UsageError(
              `${displayName} is ${wide[1]}: it starts with that encoding's byte order mark; ${saveAsUtf8(wide[2])}.`,
            ),
          );
          return;
        }
      }
      try {
        decoder.decode(chunk, { stream: true });
      } catch {
        invalidUtf8(file, displayName).then(done, done);
        return;
      }
      const parts: Buffer[] = [];
      let from = afterCr && chunk[0] === LF ? 1 : 0;
      for (let cr = chunk.indexOf(CR, from); cr !== -1; cr = chunk.indexOf(CR, from)) {
        parts.push(chunk.subarray(from, cr), NEWLINE);
        from = chunk[cr + 1] === LF ? cr + 2 : cr + 1;
      }
      if (chunk.length > 0) afterCr = chunk[chunk.length - 1] === CR;
      done(null, parts.length === 0 && from === 0 ? chunk : Buffer.concat([...parts, chunk.subarray(from)]));
    },
    flush(done: TransformCallback): void {
      try {
        decoder.decode();
        done();
      } catch {
        // The file ends inside a multi-byte character.
        invalidUtf8(file, displayName).then(done, done);
      }
    },
  });
}

/** The error for a file that is not UTF-8, naming the line and column of its first invalid byte. */
async function invalidUtf8(file: string, displayName: string): Promise<UsageError> {
  const bytes = await readFile(file);
  const at = firstInvalidUtf8(bytes);
  let line = 1;
  let column = 1;
  for (let i = 0; i < at; i++) {
    const byte = bytes[i]!;
    if (byte === LF || (byte === CR && bytes[i + 1] !== LF)) {
      line++;
      column = 1;
    } else if ((byte & 0xc0) !== 0x80) column++;
  }
  const hex = (bytes[at] ?? 0).toString(16).toUpperCase().padStart(2, '0');
  return new UsageError(
    `${displayName}:${line}: is not UTF-8 text: the byte 0x${hex} at column ${column} is not valid UTF-8 (the file ` +
      `is probably Latin-1 or Windows-1252, as older spreadsheets save CSV); ${saveAsUtf8('WINDOWS-1252')}.`,
  );
}

/** Index of the first byte that does not start a valid UTF-8 sequence (RFC 3629), or the length when none. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i]!;
    if (lead < 0x80) {
      i++;
      continue;
    }
    // Allowed range of the second byte and the sequence length, by lead byte: no overlong forms, no surrogates,
    // nothing above U+10FFFF.
    let length = 0;
    let low = 0x80;
    let high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) length = 2;
    else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      if (lead === 0xe0) low = 0xa0;
      if (lead === 0xed) high = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      if (lead === 0xf0) low = 0x90;
      if (lead === 0xf4) high = 0x8f;
    }
    if (length === 0) return i;
    for (let k = 1; k < length; k++) {
      const byte = bytes[i + k];
      const [min, max] = k === 1 ? [low, high] : [0x80, 0xbf];
      if (byte === undefined || byte < min || byte > max) return i;
    }
    i += length;
  }
  return bytes.length;
}
