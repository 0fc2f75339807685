/** Event ids, timestamps and the local checks of actions and statuses (spec/README.md §2). */
import { randomBytes } from "node:crypto";

/** The standard actions; custom ones are `x-<name>`. */
export const ACTIONS: ReadonlySet<string> = new Set([
  "llm_call", "tool_call", "retrieval", "decision", "human_oversight", "policy_flag",
  "session_start", "session_end", "config_change", "error", "gap",
]);
/** The standard statuses; custom ones are `x-<name>`. */
export const STATUSES: ReadonlySet<string> = new Set(["ok", "error", "blocked", "pending", "cancelled", "timeout"]);
const CUSTOM = /^x-[a-z0-9_.-]{1,64}$/;

/** Whether `a` is a standard action or `x-<name>`. */
export function validAction(a: unknown): a is string {
  return typeof a === "string" && (ACTIONS.has(a) || CUSTOM.test(a));
}

/** Whether `s` is a standard status or `x-<name>`. */
export function validStatus(s: unknown): s is string {
  return typeof s === "string" && (STATUSES.has(s) || CUSTOM.test(s));
}

// Random bytes drawn in blocks: one randomBytes call per event would cost more than the rest of
// the id.
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let poolPos = POOL_BYTES;

/** `n` fresh random bytes as lowercase hex. */
export function randomHex(n: number): string {
  if (poolPos + n > pool.length) {
    pool = randomBytes(POOL_BYTES);
    poolPos = 0;
  }
  const s = pool.toString("hex", poolPos, poolPos + n);
  poolPos += n;
  return s;
}

/** A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, version 7, variant `10`, 74 random bits. */
export function uuid7(ms: number = Date.now()): string {
  const t = ms.toString(16).padStart(12, "0");
  const r = randomHex(10);
  const variant = ((parseInt(r.slice(3, 4), 16) & 0x3) | 0x8).toString(16);
  return `${t.slice(0, 8)}-${t.slice(8)}-7${r.slice(0, 3)}-${variant}${r.slice(4, 7)}-${r.slice(8, 20)}`;
}

/** RFC 3339 UTC with microseconds from microseconds since the epoch. */
export function formatTsMicros(micros: bigint): string {
  const ms = Number(micros / 1000n);
  const frac = (micros % 1_000_000n).toString().padStart(6, "0");
  return new Date(ms).toISOString().slice(0, 20) + frac + "Z";
}

// Wall-clock time in microseconds: Date.now() has only milliseconds, so the monotonic clock
// adds the microseconds, anchored to the wall clock once.
const ORIGIN_MICROS = BigInt(Date.now()) * 1000n - BigInt(Math.round(performance.now() * 1000));

/** The current time in microseconds since the epoch. */
export function nowMicros(): bigint {
  return ORIGIN_MICROS + BigInt(Math.round(performance.now() * 1000));
}

/** An event timestamp from a `Date`, milliseconds since the epoch or an RFC 3339 string. */
export function toTs(v: Date | number | string): string {
  if (typeof v === "string") return v;
  const ms = typeof v === "number" ? v : v.getTime();
  if (!Number.isFinite(ms)) throw new Error(`bad timestamp ${String(v)}`);
  return formatTsMicros(BigInt(Math.round(ms * 1000)));
}
