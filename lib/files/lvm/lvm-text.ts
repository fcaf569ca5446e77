import { DiskFormatError } from "../../errors.ts";

/** A value of LVM's text metadata: a number, a string, a list of them, or a section. */
export type LvmValue = number | string | LvmValue[] | LvmSection;
/** A `name { … }` section: its keys in order. */
export interface LvmSection {
  readonly [key: string]: LvmValue;
}

const TOKEN = /\s+|#[^\n]*|"(?:[^"\\]|\\.)*"|-?\d+|[A-Za-z0-9_.+-]+|[{}[\]=,]/y;

/**
 * Parses LVM2's text metadata format (what `vgcfgbackup` writes and the metadata area holds):
 * `key = value` pairs and `name { … }` sections, values being integers, quoted strings and `[…]`
 * lists. Anything else is a DiskFormatError naming `where` and the offset.
 */
export function parseLvmText(text: string, where: string): LvmSection {
  const tokens = tokenize(text, where);
  let i = 0;
  const fail = (what: string): never => {
    throw new DiskFormatError(`${where}: ${what} at token ${i} of the metadata text`);
  };
  const next = () => tokens[i++] ?? fail("unexpected end");
  const value = (): LvmValue => {
    const t = next();
    if (t === "[") {
      const items: LvmValue[] = [];
      while (tokens[i] !== "]") {
        items.push(value());
        if (tokens[i] === ",") i++;
        else if (tokens[i] !== "]") fail("expected , or ]");
      }
      i++;
      return items;
    }
    if (t.startsWith('"')) return JSON.parse(t.replace(/\\(?!["\\])/g, "\\\\")) as string;
    if (/^-?\d+$/.test(t)) return Number(t);
    return fail(`unexpected ${JSON.stringify(t.slice(0, 20))}`);
  };
  const section = (closing: boolean): LvmSection => {
    const out: Record<string, LvmValue> = {};
    while (i < tokens.length && tokens[i] !== "}") {
      const key = next();
      if (!/^[A-Za-z0-9_.+-]+$/.test(key)) fail(`unexpected ${JSON.stringify(key.slice(0, 20))}`);
      const op = next();
      if (op === "=") out[key] = value();
      else if (op === "{") out[key] = section(true);
      else fail(`expected = or { after ${key}`);
    }
    if (closing && next() !== "}") fail("expected }");
    return out;
  };
  const top = section(false);
  if (i < tokens.length) fail("unexpected }");
  return top;
}

function tokenize(text: string, where: string): string[] {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(text);
    if (!m) throw new DiskFormatError(`${where}: unreadable metadata text at character ${at}`);
    const t = m[0];
    if (!/^\s/.test(t) && !t.startsWith("#")) tokens.push(t);
  }
  return tokens;
}
