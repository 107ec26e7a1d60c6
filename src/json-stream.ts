/*
 * Reads what a QMP client sends as QEMU's monitor reads it (measured on QEMU 7.2, 10.0 and 11.1, table
 * in docs/trace-format.md, "Client input"): a stream of JSON values, with or without white space or
 * newlines between them, cut into chunks anywhere. A value ends at the byte that closes it, so a
 * command needs no newline to be answered. Bad input gives QEMU's "JSON parse error, …" text and
 * the reader goes on where QEMU's lexer resynchronises (the next structural or control byte).
 *
 * Two dialects, as the QEMU behind the reader speaks (jsonDialectOf, from its greeting's version):
 * 'qemu-10' (7.2 … 10.x) parses a value once it closes and starts afresh after any error; 'qemu-11'
 * checks each token as it comes (src/json-grammar.ts), says where the bad token starts ("2:12: JSON
 * parse error, …", lines and byte columns of the connection), and after a refused token or a limit
 * skips to the end of that value.
 *
 * QEMU's extensions are accepted as QEMU accepts them: single-quoted strings, `\'`, modified UTF-8
 * ("\u0000"). QEMU's limits per value are kept: 64 MiB of token text, 2 Mi tokens, nesting 1024.
 * Input left unfinished at EOF is dropped, as QEMU drops it.
 */
import { IncrementalGrammar } from './json-grammar.js';
import { parseTokens, TokenType } from './json-tokens.js';

export const MAX_TOKEN_BYTES = 64 * 1024 * 1024;
export const MAX_TOKEN_COUNT = 2 * 1024 * 1024;
export const MAX_NESTING = 1024;

/** What one value of the stream gave: a value, or the error text QEMU answers with. */
export type JsonStreamItem = { value: unknown } | { error: string };

/** How a QEMU reads its clients' input: up to 10.x, or from 11 (see above). */
export type JsonDialect = 'qemu-10' | 'qemu-11';

/**
 * The dialect of the QEMU that greeted with `version`. Measured: 7.2 and 10.0 read as 'qemu-10',
 * 11.1 as 'qemu-11'; 11.0 was not measured and is taken as 11.1.
 */
export function jsonDialectOf(version: { major: number }): JsonDialect {
  return version.major >= 11 ? 'qemu-11' : 'qemu-10';
}

/** Where a stream stopped, for a new stream to go on from (see JsonStream.unfinished). */
export interface JsonStreamState {
  /** The tokens of the value not complete yet, then the token being lexed. */
  bytes: Buffer;
  /** Skipping bad input up to QEMU's next resynchronisation byte. */
  recovering: boolean;
  /** 'qemu-11': skipping the rest of a refused value, this many levels deep. */
  skipping?: number;
  /** 'qemu-11': line and column of the last byte, of the next token's start, of the token being lexed. */
  position?: number[];
}

const enum S {
  Start,
  Recovery,
  Dq,
  DqEscape,
  Sq,
  SqEscape,
  Zero,
  Sign,
  Digits,
  Mantissa,
  MantissaDigits,
  ExpE,
  ExpSign,
  ExpDigits,
  Keyword,
}

const SPACE = Buffer.from(' ');
const isDigit = (b: number): boolean => b >= 0x30 && b <= 0x39;
const isLower = (b: number): boolean => b >= 0x61 && b <= 0x7a;
/** Bytes a string may hold unescaped (QEMU: 0x20…0xFD; UTF-8 is checked when the value is parsed). */
const inString = (b: number): boolean => b >= 0x20 && b <= 0xfd;

export class JsonStream {
  private state = S.Start;
  /** The bytes of the token being lexed: token[0, tokenLength). */
  private token = Buffer.allocUnsafe(256);
  private tokenLength = 0;
  /** The tokens of the value being read, as QEMU's streamer queues them. */
  private types: TokenType[] = [];
  /** Token i is text[ends[i-1] ?? 0, ends[i]). */
  private ends: number[] = [];
  private text = Buffer.allocUnsafe(1024);
  private textBytes = 0;
  private braces = 0;
  private brackets = 0;
  /** 'qemu-11' only: the token checker, and how deep the refused value being skipped still is. */
  private readonly grammar: IncrementalGrammar | undefined;
  private skipping = 0;
  // Positions as QEMU 11 counts them: the last byte's, where the next token starts (QEMU sets it once
  // a token, white space or a skipped run ends: one past a byte read twice for lookahead), this token's.
  private line = 1;
  private column = 0;
  private startLine = 1;
  private startColumn = 1;
  private tokenLine = 1;
  private tokenColumn = 1;

  /** `from`: what unfinished() gave for a stream of the same dialect, to go on from. */
  constructor(
    private readonly emit: (item: JsonStreamItem) => void,
    dialect: JsonDialect = 'qemu-10',
    from?: JsonStreamState,
  ) {
    this.grammar = dialect === 'qemu-11' ? new IncrementalGrammar() : undefined;
    if (!from) return;
    if (from.recovering) this.state = S.Recovery;
    this.skipping = from.skipping ?? 0;
    this.push(from.bytes);
    if (from.position?.length === 6) {
      [this.line, this.column, this.startLine, this.startColumn, this.tokenLine, this.tokenColumn] = from.position as [
        number,
        number,
        number,
        number,
        number,
        number,
      ];
    }
  }

  /**
   * The value not complete yet, as bytes that bring a new stream to the same point (tokens are
   * separated by a space: white space between tokens means nothing), and whether the stream is
   * skipping bad input. For a connection handed over to another process (src/share/keeper.ts).
   */
  unfinished(): JsonStreamState {
    const parts: Buffer[] = [];
    for (let i = 0; i < this.ends.length; i++) parts.push(this.text.subarray(this.ends[i - 1] ?? 0, this.ends[i]), SPACE);
    parts.push(this.token.subarray(0, this.tokenLength));
    const state: JsonStreamState = { bytes: Buffer.concat(parts), recovering: this.state === S.Recovery };
    if (!this.grammar) return state;
    const position = [this.line, this.column, this.startLine, this.startColumn, this.tokenLine, this.tokenColumn];
    return { ...state, skipping: this.skipping, position };
  }

  /** Bytes held for a value not yet complete (for a caller's own accounting). */
  get pendingBytes(): number {
    return this.textBytes + this.tokenLength;
  }

  push(chunk: Uint8Array): void {
    for (let i = 0; i < chunk.length; i++) this.feed(chunk[i]!);
  }

  private feed(b: number): void {
    if (b === 0x0a) {
      this.line++;
      this.column = 0;
    } else {
      this.column++;
    }
    // A terminal reached by lookahead hands the byte back: the loop runs it again from Start.
    for (;;) {
      const next = this.step(b);
      if (next === 'consumed') break;
    }
    if (this.tokenLength > MAX_TOKEN_BYTES) {
      // QEMU passes the over-long token on as it is; its streamer then refuses it by size.
      this.tokenLength = 0;
      this.state = S.Start;
      this.nextStart();
      if (this.skipping > 0) return; // part of a value being skipped already (QEMU 11)
      this.fail('JSON token size limit exceeded');
    }
  }

  private nextStart(): void {
    this.startLine = this.line;
    this.startColumn = this.column + 1;
  }

  /** One transition of QEMU's lexer table; 'again' when the byte was not consumed (lookahead). */
  private step(b: number): 'consumed' | 'again' {
    switch (this.state) {
      case S.Start:
        this.tokenLine = this.startLine;
        this.tokenColumn = this.startColumn;
        if (b === 0x20 || b === 0x09 || b === 0x0d || b === 0x0a) {
          this.nextStart();
          return 'consumed';
        }
        if (b === 0x22) return this.enter(S.Dq, b);
        if (b === 0x27) return this.enter(S.Sq, b);
        if (b === 0x30) return this.enter(S.Zero, b);
        if (b >= 0x31 && b <= 0x39) return this.enter(S.Digits, b);
        if (b === 0x2d) return this.enter(S.Sign, b);
        if (isLower(b)) return this.enter(S.Keyword, b);
        if (b === 0x7b) return this.single(TokenType.LCurly, b);
        if (b === 0x7d) return this.single(TokenType.RCurly, b);
        if (b === 0x5b) return this.single(TokenType.LSquare, b);
        if (b === 0x5d) return this.single(TokenType.RSquare, b);
        if (b === 0x2c) return this.single(TokenType.Comma, b);
        if (b === 0x3a) return this.single(TokenType.Colon, b);
        return this.error(b);
      case S.Recovery:
        // Skip to a structural byte, a control byte other than tab, or 0xFE/0xFF: there QEMU starts afresh.
        if ((b < 0x20 && b !== 0x09) || b === 0xfe || b === 0xff || b === 0x5b || b === 0x5d || b === 0x7b || b === 0x7d || b === 0x3a || b === 0x2c) {
          this.state = S.Start;
          this.nextStart();
          return 'again';
        }
        return 'consumed';
      case S.Dq:
      case S.Sq: {
        const quote = this.state === S.Dq ? 0x22 : 0x27;
        if (b === quote) return this.single(TokenType.String, b);
        if (b === 0x5c) return this.enter(this.state === S.Dq ? S.DqEscape : S.SqEscape, b);
        return inString(b) ? this.append(b) : this.error(b);
      }
      case S.DqEscape:
      case S.SqEscape:
        return inString(b) ? this.enter(this.state === S.DqEscape ? S.Dq : S.Sq, b) : this.error(b);
      case S.Zero:
        if (b === 0x2e) return this.enter(S.Mantissa, b);
        if (isDigit(b)) return this.error(b);
        return this.lookahead(TokenType.Integer);
      case S.Sign:
        if (b === 0x30) return this.enter(S.Zero, b);
        if (b >= 0x31 && b <= 0x39) return this.enter(S.Digits, b);
        return this.error(b);
      case S.Digits:
        if (isDigit(b)) return this.append(b);
        if (b === 0x65 || b === 0x45) return this.enter(S.ExpE, b);
        if (b === 0x2e) return this.enter(S.Mantissa, b);
        return this.lookahead(TokenType.Integer);
      case S.Mantissa:
        return isDigit(b) ? this.enter(S.MantissaDigits, b) : this.error(b);
      case S.MantissaDigits:
        if (isDigit(b)) return this.append(b);
        if (b === 0x65 || b === 0x45) return this.enter(S.ExpE, b);
        return this.lookahead(TokenType.Float);
      case S.ExpE:
        if (b === 0x2b || b === 0x2d) return this.enter(S.ExpSign, b);
        return isDigit(b) ? this.enter(S.ExpDigits, b) : this.error(b);
      case S.ExpSign:
        return isDigit(b) ? this.enter(S.ExpDigits, b) : this.error(b);
      case S.ExpDigits:
        return isDigit(b) ? this.append(b) : this.lookahead(TokenType.Float);
      case S.Keyword:
        return isLower(b) ? this.append(b) : this.lookahead(TokenType.Keyword);
    }
  }

  private append(b: number): 'consumed' {
    if (this.tokenLength === this.token.length) {
      const bigger = Buffer.allocUnsafe(this.token.length * 2);
      this.token.copy(bigger, 0, 0, this.tokenLength);
      this.token = bigger;
    }
    this.token[this.tokenLength++] = b;
    return 'consumed';
  }

  private enter(state: S, b: number): 'consumed' {
    this.state = state;
    return this.append(b);
  }

  private single(type: TokenType, b: number): 'consumed' {
    this.append(b);
    this.state = S.Start;
    this.take(type);
    return 'consumed';
  }

  private lookahead(type: TokenType): 'again' {
    this.take(type);
    this.state = S.Start;
    return 'again';
  }

  /** A byte no token may hold here: QEMU reports the token so far with it ("stray '…'") and recovers. */
  private error(b: number): 'consumed' {
    this.append(b);
    const text = this.token.toString('utf8', 0, this.tokenLength);
    this.tokenLength = 0;
    this.state = S.Recovery;
    this.nextStart();
    if (this.skipping > 0) {
      // QEMU 11 drops the value it was skipping and says nothing more: the next token starts afresh.
      this.skipping = 0;
      this.reset();
    } else {
      this.fail(`${this.where()}JSON parse error, stray '${text}'`, false);
    }
    return 'consumed';
  }

  /** QEMU 11's "line:column: " of the token being read; QEMU 10 says no position. */
  private where(): string {
    return this.grammar ? `${this.tokenLine}:${this.tokenColumn}: ` : '';
  }

  /** QEMU's streamer: queue the token, count nesting, parse once the outermost value closes. */
  private take(type: TokenType): void {
    const length = this.tokenLength;
    this.tokenLength = 0;
    this.nextStart();
    if (this.skipping > 0) {
      if (type === TokenType.LCurly || type === TokenType.LSquare) this.skipping++;
      else if (type === TokenType.RCurly || type === TokenType.RSquare) this.skipping--;
      return;
    }
    if (type === TokenType.LCurly) this.braces++;
    else if (type === TokenType.RCurly) this.braces--;
    else if (type === TokenType.LSquare) this.brackets++;
    else if (type === TokenType.RSquare) this.brackets--;
    if (this.textBytes + length + 1 > MAX_TOKEN_BYTES) return this.fail('JSON token size limit exceeded');
    if (this.types.length + 1 > MAX_TOKEN_COUNT) return this.fail('JSON token count limit exceeded');
    if (this.braces + this.brackets > MAX_NESTING) return this.fail('JSON nesting depth limit exceeded');
    if (this.textBytes + length > this.text.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.text.length * 2, this.textBytes + length));
      this.text.copy(bigger, 0, 0, this.textBytes);
      this.text = bigger;
    }
    this.token.copy(this.text, this.textBytes, 0, length);
    this.textBytes += length;
    this.types.push(type);
    this.ends.push(this.textBytes);
    if (this.grammar) {
      const step = this.grammar.push(type, this.text, this.textBytes - length, this.textBytes);
      if ('error' in step) return this.fail(`${this.where()}JSON parse error, ${step.error}`);
      if (!step.complete) return;
    } else if ((this.braces > 0 || this.brackets > 0) && this.braces >= 0 && this.brackets >= 0) {
      return;
    }
    const { types, ends, text } = this;
    this.reset();
    this.emit(parseTokens(types, ends, text));
  }

  /**
   * A refused value: QEMU 10 starts afresh at the next token; QEMU 11 too after a byte its lexer
   * refused (`skip` false), but first skips to the end of the value after a refused token or a limit.
   */
  private fail(error: string, skip = true): void {
    if (this.grammar && skip) this.skipping = Math.max(0, this.braces + this.brackets);
    this.reset();
    this.emit({ error });
  }

  private reset(): void {
    this.types = [];
    this.ends = [];
    // The next value gets its own buffer (the parser may still hold this one); a large one is not kept.
    this.text = Buffer.allocUnsafe(1024);
    this.textBytes = 0;
    if (this.token.length > 65536) this.token = Buffer.allocUnsafe(256);
    this.braces = 0;
    this.brackets = 0;
    this.grammar?.reset();
  }
}
