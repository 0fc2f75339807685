/**
 * RFC 8785 (JCS) canonical JSON, as spec/README.md §1 requires, and a strict JSON parser.
 *
 * ECMAScript's own number and string serialisation is what RFC 8785 prescribes; what needs
 * care is the key order (UTF-16 code units, which is what `<` on strings compares), lone
 * surrogates (no UTF-8 form, so refused), and values JSON has no exact form for.
 */

/** The largest integer every JSON implementation reads exactly (2^53 − 1). */
export const MAX_SAFE_INTEGER = Number.MAX_SAFE_INTEGER;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The canonical UTF-8 bytes of a JSON value; throws `Error` for values without one. */
export function canonicalJson(value: unknown): Buffer {
  return Buffer.from(canonicalString(value), "utf8");
}

/** The canonical text of a JSON value (see {@link canonicalJson}). */
export function canonicalString(value: unknown): string {
  return write(value, 0);
}

function write(value: unknown, depth: number): string {
  if (depth > 128) throw new Error("canonical JSON: nested deeper than 128 levels");
  switch (typeof value) {
    case "string":
      return quote(value);
    case "number":
      if (!Number.isFinite(value)) throw new Error(`canonical JSON: ${value} is not a JSON number`);
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      if (value > BigInt(MAX_SAFE_INTEGER) || value < -BigInt(MAX_SAFE_INTEGER)) {
        throw new Error(`canonical JSON: ${value} exceeds safe integer domain`);
      }
      return value.toString();
    case "object":
      if (value === null) return "null";
      if (Array.isArray(value)) return `[${value.map((v) => write(v, depth + 1)).join(",")}]`;
      return writeObject(value as Record<string, unknown>, depth);
    default:
      throw new Error(`canonical JSON: a ${typeof value} is not a JSON value`);
  }
}

function writeObject(obj: Record<string, unknown>, depth: number): string {
  const proto = Object.getPrototypeOf(obj) as unknown;
  if (proto !== Object.prototype && proto !== null) {
    throw new Error("canonical JSON: only plain objects and arrays are JSON values");
  }
  // Default sort compares UTF-16 code units, the order RFC 8785 §3.2.3 prescribes.
  const keys = Object.keys(obj).sort();
  const parts: string[] = [];
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined) continue; // as JSON.stringify: an absent member
    parts.push(`${quote(k)}:${write(v, depth + 1)}`);
  }
  return `{${parts.join(",")}}`;
}

function quote(s: string): string {
  if (LONE_SURROGATE.test(s)) throw new Error("canonical JSON: string holds a lone surrogate");
  // JSON.stringify escapes exactly as RFC 8785 §3.2.2.2: \b \t \n \f \r \" \\, \u00xx else.
  return JSON.stringify(s);
}

/**
 * Parse JSON strictly: duplicate member names, integers beyond ±(2^53 − 1), trailing data and
 * lone surrogates are errors (`JSON.parse` would silently keep the last duplicate).
 */
export function parseJsonStrict(text: string): unknown {
  const p = new StrictParser(text);
  p.space();
  const v = p.value(0);
  p.space();
  if (p.pos !== text.length) p.fail("trailing data");
  return v;
}

const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
const STRING_BODY = /(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;

class StrictParser {
  pos = 0;
  constructor(readonly text: string) {}

  fail(what: string): never {
    throw new Error(`invalid JSON: ${what} at offset ${this.pos}`);
  }

  space(): void {
    while (/[ \t\n\r]/.test(this.text[this.pos] ?? "")) this.pos++;
  }

  value(depth: number): unknown {
    if (depth > 128) this.fail("nested deeper than 128 levels");
    const c = this.text[this.pos];
    if (c === "{") return this.object(depth);
    if (c === "[") return this.array(depth);
    if (c === '"') return this.string();
    for (const [word, v] of [["true", true], ["false", false], ["null", null]] as const) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return v;
      }
    }
    return this.number();
  }

  number(): number {
    NUMBER.lastIndex = this.pos;
    const m = NUMBER.exec(this.text);
    if (m === null) this.fail("unexpected character");
    const n = Number(m[0]);
    if (m[1] === undefined && m[2] === undefined && !Number.isSafeInteger(n)) {
      this.fail(`${m[0]} exceeds safe integer domain`);
    }
    this.pos += m[0].length;
    return n;
  }

  string(): string {
    STRING_BODY.lastIndex = this.pos + 1;
    const m = STRING_BODY.exec(this.text);
    if (m === null) this.fail("bad string");
    const raw = this.text.slice(this.pos, this.pos + 1 + m[0].length);
    this.pos += raw.length;
    const s = JSON.parse(raw) as string;
    if (LONE_SURROGATE.test(s)) this.fail("lone surrogate in string");
    return s;
  }

  array(depth: number): unknown[] {
    this.pos++;
    const out: unknown[] = [];
    this.space();
    if (this.text[this.pos] === "]") {
      this.pos++;
      return out;
    }
    for (;;) {
      this.space();
      out.push(this.value(depth + 1));
      this.space();
      const c = this.text[this.pos++];
      if (c === "]") return out;
      if (c !== ",") this.fail("expected , or ]");
    }
  }

  object(depth: number): Record<string, unknown> {
    this.pos++;
    const out: Record<string, unknown> = {};
    this.space();
    if (this.text[this.pos] === "}") {
      this.pos++;
      return out;
    }
    for (;;) {
      this.space();
      if (this.text[this.pos] !== '"') this.fail("expected a member name");
      const key = this.string();
      if (Object.prototype.hasOwnProperty.call(out, key)) this.fail(`duplicate key ${JSON.stringify(key)}`);
      this.space();
      if (this.text[this.pos++] !== ":") this.fail("expected :");
      this.space();
      Object.defineProperty(out, key, { value: this.value(depth + 1), enumerable: true, writable: true, configurable: true });
      this.space();
      const c = this.text[this.pos++];
      if (c === "}") return out;
      if (c !== ",") this.fail("expected , or }");
    }
  }
}
