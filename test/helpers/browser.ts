/*
 * Headless Chromium for the tests of HTML pages (Debian's chromium, driven by playwright-core): found
 * on PATH or at QMPBJ_CHROMIUM; tests skip, saying so, where it is not installed.
 */
import { existsSync } from 'node:fs';
import { inflateSync } from 'node:zlib';

export function chromiumPath(): string | undefined {
  const candidates = [process.env.QMPBJ_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => !!p);
  return candidates.find((p) => existsSync(p));
}

/** How many different byte values a PNG's pixel data has (a blank page has one or two). */
export function pngVariety(png: Buffer): number {
  const idat: Buffer[] = [];
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    if (type === 'IDAT') idat.push(png.subarray(at + 8, at + 8 + length));
    at += 12 + length;
  }
  const seen = new Set<number>();
  for (const byte of inflateSync(Buffer.concat(idat))) seen.add(byte);
  return seen.size;
}
