/*
 * QEMU 11's way of checking client input (measured on 11.1.3, table in docs/trace-format.md,
 * "Client input"): each token is checked as it arrives, and the first one that cannot go on the value
 * is refused with its own words ("expecting key", "expected ',' or '}'", …). src/json-stream.ts
 * keeps the tokens and skips to the end of a refused value; this file only says whether the next
 * token fits, and when the outermost value is complete. Up to QEMU 10 the whole value was parsed once
 * it closed (src/json-tokens.ts), with other words for the same mistakes.
 */
import { decodeString, TokenType } from './json-tokens.js';

type Expect = 'value' | 'value-or-end' | 'key' | 'key-or-end' | 'colon' | 'comma-or-end';

interface Frame {
  array: boolean;
  expect: Expect;
  /** An object's keys so far (QEMU refuses a duplicate once its value is complete). */
  keys?: Set<string>;
  key?: string;
}

class BadToken extends Error {}

/** What one token did: refused (QEMU's words, without the position), completed the outermost value, or neither. */
export type GrammarStep = { error: string } | { complete: boolean };

export class IncrementalGrammar {
  private frames: Frame[] = [];

  reset(): void {
    this.frames = [];
  }

  /** The token text[from, to) of `type`, next in the value. */
  push(type: TokenType, text: Buffer, from: number, to: number): GrammarStep {
    try {
      return { complete: this.step(type, text, from, to) };
    } catch (error) {
      if (error instanceof BadToken) {
        this.frames = [];
        return { error: error.message };
      }
      throw error;
    }
  }

  private step(type: TokenType, text: Buffer, from: number, to: number): boolean {
    const top = this.frames[this.frames.length - 1];
    if (!top || top.expect === 'value') return this.value(type, text, from, to);
    switch (top.expect) {
      case 'value-or-end':
        if (type === TokenType.RSquare) return this.close();
        return this.value(type, text, from, to);
      case 'key-or-end':
      case 'key':
        if (top.expect === 'key-or-end' && type === TokenType.RCurly) return this.close();
        if (type !== TokenType.String) throw new BadToken('expecting key');
        top.key = decode(text, from, to);
        top.expect = 'colon';
        return false;
      case 'colon':
        if (type !== TokenType.Colon) throw new BadToken("expecting ':'");
        top.expect = 'value';
        return false;
      case 'comma-or-end':
        if (type === TokenType.Comma) {
          top.expect = top.array ? 'value' : 'key';
          return false;
        }
        if (type === (top.array ? TokenType.RSquare : TokenType.RCurly)) return this.close();
        throw new BadToken(top.array ? "expected ',' or ']'" : "expected ',' or '}'");
    }
  }

  private value(type: TokenType, text: Buffer, from: number, to: number): boolean {
    switch (type) {
      case TokenType.LCurly:
        this.frames.push({ array: false, expect: 'key-or-end', keys: new Set() });
        return false;
      case TokenType.LSquare:
        this.frames.push({ array: true, expect: 'value-or-end' });
        return false;
      case TokenType.String:
        decode(text, from, to);
        return this.done();
      case TokenType.Integer:
      case TokenType.Float:
        return this.done();
      case TokenType.Keyword: {
        const word = text.toString('latin1', from, to);
        if (word !== 'true' && word !== 'false' && word !== 'null') throw new BadToken(`invalid keyword '${word}'`);
        return this.done();
      }
      default:
        throw new BadToken('expecting value');
    }
  }

  private close(): boolean {
    this.frames.pop();
    return this.done();
  }

  /** A value is complete: the outermost one, or a member of the frame below. */
  private done(): boolean {
    const top = this.frames[this.frames.length - 1];
    if (!top) return true;
    if (!top.array) {
      if (top.keys!.has(top.key!)) throw new BadToken('duplicate key');
      top.keys!.add(top.key!);
    }
    top.expect = 'comma-or-end';
    return false;
  }
}

function decode(text: Buffer, from: number, to: number): string {
  return decodeString(text, from, to, (message) => {
    throw new BadToken(message);
  });
}
