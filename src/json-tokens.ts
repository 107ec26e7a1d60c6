/*
 * The second half of reading client input as QEMU does (src/json-stream.ts has the first): one
 * complete value's tokens become a value, or QEMU's error text for them. Strings are decoded as
 * QEMU decodes them: modified UTF-8 ("\xC0\x80" and "\u0000" are U+0000), no surrogates or
 * noncharacters, escapes of RFC 8259 plus `\'`.
 */

export const enum TokenType {
  LCurly,
  RCurly,
  LSquare,
  RSquare,
  Colon,
  Comma,
  String,
  Integer,
  Float,
  Keyword,
}

class ParseError extends Error {}

export function parseTokens(types: readonly TokenType[], ends: readonly number[], text: Buffer): { value: unknown } | { error: string } {
  let pos = 0;
  const start = (i: number): number => (i === 0 ? 0 : ends[i - 1]!);
  const tokenText = (i: number): string => text.toString('utf8', start(i), ends[i]);
  const fail = (message: string): never => {
    throw new ParseError(`JSON parse error, ${message}`);
  };
  const pop = (): number => (pos < types.length ? pos++ : fail('premature EOI'));

  const value = (): unknown => {
    if (pos >= types.length) fail('premature EOI');
    switch (types[pos]) {
      case TokenType.LCurly:
        return object();
      case TokenType.LSquare:
        return array();
      case TokenType.String:
        return decodeString(text, start(pos), ends[pos++]!, fail);
      case TokenType.Integer:
      case TokenType.Float:
        return Number(tokenText(pos++));
      case TokenType.Keyword: {
        const word = tokenText(pos++);
        if (word === 'true') return true;
        if (word === 'false') return false;
        if (word === 'null') return null;
        return fail(`invalid keyword '${word}'`);
      }
      default:
        return fail('expecting value');
    }
  };

  const object = (): Record<string, unknown> => {
    pos++;
    const result: Record<string, unknown> = {};
    if (pos >= types.length) fail('premature EOI');
    if (types[pos] === TokenType.RCurly) {
      pos++;
      return result;
    }
    for (;;) {
      const key = value();
      if (typeof key !== 'string') fail('key is not a string in object');
      if (types[pop()] !== TokenType.Colon) fail('missing : in object pair');
      const member = value();
      if (Object.prototype.hasOwnProperty.call(result, key as string)) fail('duplicate key');
      // defineProperty: a member named "__proto__" is data, as for JSON.parse.
      Object.defineProperty(result, key as string, { value: member, enumerable: true, writable: true, configurable: true });
      const next = types[pop()];
      if (next === TokenType.RCurly) return result;
      if (next !== TokenType.Comma) fail('expected separator in dict');
    }
  };

  const array = (): unknown[] => {
    pos++;
    const result: unknown[] = [];
    if (pos >= types.length) fail('premature EOI');
    if (types[pos] === TokenType.RSquare) {
      pos++;
      return result;
    }
    for (;;) {
      result.push(value());
      const next = types[pop()];
      if (next === TokenType.RSquare) return result;
      if (next !== TokenType.Comma) fail('expected separator in list');
    }
  };

  try {
    return { value: value() };
  } catch (error) {
    if (error instanceof ParseError) return { error: error.message };
    throw error;
  }
}

/** QEMU's test for a code point it accepts: not a surrogate, not a noncharacter, at most U+10FFFF. */
function validCodePoint(cp: number): boolean {
  if (cp < 0 || cp > 0x10ffff) return false;
  if ((cp & 0xfffff800) === 0xd800) return false;
  if (cp >= 0xfdd0 && cp <= 0xfdef) return false;
  return (cp & 0xfffe) !== 0xfffe;
}

function hex4(text: Buffer, at: number, end: number): number {
  if (at + 4 > end) return -1;
  const digits = text.toString('latin1', at, at + 4);
  return /^[0-9a-fA-F]{4}$/.test(digits) ? parseInt(digits, 16) : -1;
}

/** Decodes one string token (quotes included) from text[from, to). */
export function decodeString(text: Buffer, from: number, to: number, fail: (message: string) => never): string {
  let out = '';
  let i = from + 1;
  const last = to - 1; // the closing quote
  while (i < last) {
    const b = text[i]!;
    if (b === 0x5c) {
      const escape = i;
      const c = text[i + 1];
      i += 2;
      switch (c) {
        case 0x22:
          out += '"';
          break;
        case 0x27:
          out += "'";
          break;
        case 0x5c:
          out += '\\';
          break;
        case 0x2f:
          out += '/';
          break;
        case 0x62:
          out += '\b';
          break;
        case 0x66:
          out += '\f';
          break;
        case 0x6e:
          out += '\n';
          break;
        case 0x72:
          out += '\r';
          break;
        case 0x74:
          out += '\t';
          break;
        case 0x75: {
          let cp = hex4(text, i, last);
          i += 4;
          if (cp >= 0xd800 && cp <= 0xdbff && text[i] === 0x5c && text[i + 1] === 0x75) {
            const trailing = hex4(text, i + 2, last);
            if (trailing >= 0xdc00 && trailing <= 0xdfff) {
              cp = 0x10000 + ((cp & 0x3ff) << 10) + (trailing & 0x3ff);
              i += 6;
            } else {
              cp = -1;
            }
          }
          if (!validCodePoint(cp)) fail(`${text.toString('latin1', escape, Math.min(i, last))} is not a valid Unicode character`);
          out += String.fromCodePoint(cp);
          break;
        }
        default:
          fail('invalid escape sequence in string');
      }
      continue;
    }
    if (b < 0x80) {
      // A run of plain ASCII at once: the common case.
      let j = i + 1;
      while (j < last && text[j]! < 0x80 && text[j] !== 0x5c) j++;
      out += text.toString('latin1', i, j);
      i = j;
      continue;
    }
    const [cp, next] = utf8CodePoint(text, i, last);
    if (cp < 0) fail('invalid UTF-8 sequence in string');
    out += String.fromCodePoint(cp);
    i = next;
  }
  return out;
}

/** One modified-UTF-8 character at text[i]: [code point, next index], or [-1, …] when QEMU refuses it. */
function utf8CodePoint(text: Buffer, i: number, end: number): [number, number] {
  const b = text[i]!;
  let length: number;
  let cp: number;
  if (b >= 0xc0 && b <= 0xdf) {
    length = 2;
    cp = b & 0x1f;
  } else if (b >= 0xe0 && b <= 0xef) {
    length = 3;
    cp = b & 0x0f;
  } else if (b >= 0xf0 && b <= 0xf7) {
    length = 4;
    cp = b & 0x07;
  } else return [-1, i + 1];
  if (i + length > end) return [-1, i + 1];
  for (let k = 1; k < length; k++) {
    const c = text[i + k]!;
    if ((c & 0xc0) !== 0x80) return [-1, i + 1];
    cp = (cp << 6) | (c & 0x3f);
  }
  // Overlong forms are refused, except "\xC0\x80" (modified UTF-8's U+0000).
  const overlong = (length === 2 && cp < 0x80 && cp !== 0) || (length === 3 && cp < 0x800) || (length === 4 && cp < 0x10000);
  if (overlong || !validCodePoint(cp)) return [-1, i + 1];
  return [cp, i + length];
}
