/**
 * Optional redactor for plain content, with the Python SDK's categories: `email`, `phone`,
 * `api_key`, `jwt`, `bearer_token`, `iban`, `card_number` (Luhn-checked). Matches become
 * `[<category>]` and the categories found are returned, so the event can say what was removed.
 */

/** Whether a string of digits passes the Luhn check (as card numbers do). */
export function luhnOk(digits: string): boolean {
  let total = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    total += d;
  }
  return total % 10 === 0;
}

function ibanOk(m: string): boolean {
  const s = m.replace(/ /g, "").toUpperCase();
  if (s.length < 15 || s.length > 34) return false;
  const digits = [...(s.slice(4) + s.slice(0, 4))].map((c) => parseInt(c, 36).toString()).join("");
  return BigInt(digits) % 97n === 1n;
}

const DATE = /^\d{4}[-./]\d{1,2}[-./]\d{1,2}$|^\d{1,2}[-./]\d{1,2}[-./]\d{4}$/;

type Pattern = readonly [name: string, rx: RegExp, check?: (m: string) => boolean];

const PATTERNS: readonly Pattern[] = [
  ["jwt", /\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g],
  ["bearer_token", /\bbearer\s+[A-Za-z0-9\-._~+/]{16,}=*/gi],
  [
    "api_key",
    new RegExp(
      "\\b(?:sk-ant-[A-Za-z0-9_-]{20,}|sk-(?:proj-|live-|test-)?[A-Za-z0-9_-]{20,}" +
        "|(?:AKIA|ASIA)[A-Z0-9]{16}|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,}" +
        "|AIza[0-9A-Za-z_-]{35}|xox[abposr]-[A-Za-z0-9-]{10,}|(?:sk|rk|pk)_(?:live|test)_" +
        "[A-Za-z0-9]{16,}|hf_[A-Za-z0-9]{30,}|glpat-[A-Za-z0-9_-]{20,})",
      "g",
    ),
  ],
  ["email", /\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b/g],
  ["iban", /\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b/g, ibanOk],
  ["card_number", /\b(?:\d[ -]?){12,18}\d\b/g, (m) => luhnOk(m.replace(/[ -]/g, ""))],
  [
    "phone",
    /(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]?\d{2,4}){2,4}\b/g,
    (m) => {
      const digits = m.replace(/\D/g, "").length;
      return digits >= 8 && digits <= 15 && !DATE.test(m);
    },
  ],
];

/** The built-in redaction categories. */
export const CATEGORIES: readonly string[] = PATTERNS.map(([name]) => name);

/** Replaces sensitive substrings in strings, recursively in arrays and plain objects. */
export class Redactor {
  private readonly patterns: Pattern[];

  /**
   * `categories` picks the built-in ones (default all; an unknown name throws); `extra` adds
   * your own as `{category: RegExp}` (made global if it is not).
   */
  constructor(categories?: readonly string[], extra: Record<string, RegExp> = {}) {
    const wanted = new Set(categories ?? CATEGORIES);
    const unknown = [...wanted].filter((c) => !CATEGORIES.includes(c));
    if (unknown.length > 0) throw new Error(`unknown redaction categories: ${unknown.sort().join(", ")}`);
    this.patterns = PATTERNS.filter(([name]) => wanted.has(name));
    for (const [name, rx] of Object.entries(extra)) {
      this.patterns.push([name, rx.global ? rx : new RegExp(rx.source, rx.flags + "g")]);
    }
  }

  /** `text` with each match replaced by `[category]`; categories found are added to `found`. */
  redactText(text: string, found?: Set<string>): string {
    let out = text;
    for (const [name, rx, check] of this.patterns) {
      out = out.replace(rx, (m) => {
        if (check !== undefined && !check(m)) return m;
        found?.add(name);
        return `[${name}]`;
      });
    }
    return out;
  }

  /** A redacted copy of `value` and the sorted categories removed. */
  redact(value: unknown): [unknown, string[]] {
    const found = new Set<string>();
    return [this.walk(value, found), [...found].sort()];
  }

  private walk(v: unknown, found: Set<string>): unknown {
    if (typeof v === "string") return this.redactText(v, found);
    if (Array.isArray(v)) return v.map((x) => this.walk(x, found));
    if (typeof v === "object" && v !== null) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, this.walk(x, found)]));
    }
    return v;
  }
}
