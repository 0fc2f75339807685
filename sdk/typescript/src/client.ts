/**
 * The Sealog client: `record()` never blocks on the network, never throws into the caller and
 * never loses an event silently. Delivery lives in `delivery.ts`, the spool in `spool.ts`.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { Held, type Approval, type ApprovalOptions } from "./approval.js";
import { createHmac, randomBytes } from "node:crypto";
import { canonicalJson } from "./canonical.js";
import { asKey, committedBytes, COMMITMENT_PREFIX, type CommitmentKey } from "./commitments.js";
import type { Check, EventContext, HumanOversight } from "./context.js";
import { Delivery, type DeliveryCounts, type Rejection, type WireEvent } from "./delivery.js";
import { ACTIONS, formatTsMicros, nowMicros, randomHex, toTs, uuid7, validAction, validStatus } from "./event.js";
import { Receipt } from "./receipt.js";
import { Redactor } from "./redact.js";
import { Spool, defaultSpoolRoot, spoolDirFor, spoolKeyId } from "./spool.js";
import { Transport, errorOf } from "./transport.js";

/** Where `sealog serve` listens unless told otherwise. */
export const DEFAULT_URL = "http://127.0.0.1:7300";

/** A time an event may be given: a `Date`, milliseconds since the epoch, or RFC 3339 text. */
export type TimeLike = Date | number | string;

/** W3C trace ids of an event. */
export interface TraceIds {
  trace_id: string;
  span_id: string;
  parent_span_id?: string;
}

/** What `record()` takes besides the action. Every member is optional. */
export interface RecordOptions extends EventContext {
  /** What went in (a prompt, tool arguments): committed unless content is captured. */
  input?: unknown;
  /** What came out: committed unless content is captured. */
  output?: unknown;
  /** `ok` (the default), `error`, `blocked`, `pending`, `cancelled`, `timeout` or `x-<name>`. */
  status?: string;
  /** The session to number the event in (default: the current one, from `log.session`). */
  session?: Session;
  /** When the work began (spans set it). */
  started?: TimeLike;
  /** More context, merged under the blocks given as options of their own. */
  context?: EventContext;
  attributes?: Record<string, unknown>;
  trace?: TraceIds;
  /** True: store input/output in plain (redacted if configured); false: commit them. */
  content?: boolean;
  media_type?: string;
  agent?: string | Record<string, string>;
  /** The event's time (default now). */
  ts?: TimeLike;
  /** The event's id, to re-send an event idempotently. */
  id?: string;
}

/** The options of a span (those of `record` but the ones the span sets itself). */
export type SpanOptions = Omit<RecordOptions, "started" | "trace" | "session" | "ts" | "id">;

/** The options of `recordSync`. */
export interface SyncOptions extends RecordOptions {
  /** `durable` (on the server's disk) or `checkpoint` (also in a signed checkpoint: a proof). */
  wait?: "durable" | "checkpoint";
  timeoutMs?: number;
}

/** How to reach the log, and how to deliver. Each falls back to an environment variable. */
export interface SealogOptions {
  /** The server (`$SEALOG_URL`, default `http://127.0.0.1:7300`). */
  url?: string;
  /** The log (`$SEALOG_LOG`, default `default`). */
  log?: string;
  /** An ingest key (`$SEALOG_API_KEY`); a read key for `getReceipt`. */
  apiKey?: string;
  /** The agent's id or its whole `agent` object (`$SEALOG_AGENT`, default `typescript`). */
  agent?: string | Record<string, string>;
  /**
   * The commitment key, at least 16 bytes: bytes, hex, `base64:…` or text
   * (`$SEALOG_COMMITMENT_KEY`). Without one, a random key for this process only (with a
   * warning): its commitments can never be checked.
   */
  commitmentKey?: CommitmentKey;
  /** Store input/output in plain rather than as commitments. */
  captureContent?: boolean;
  /** True or a `Redactor`: redact plain content before it leaves the process. */
  redact?: boolean | Redactor;
  /** Events per request (≥ 1, default 1000). */
  batchSize?: number;
  /** The longest wait before a partial batch is sent, ms (> 0, default 200). */
  flushIntervalMs?: number;
  /** Events held in memory (≥ 1, default 50,000); at the cap the queue goes to the spool. */
  maxQueue?: number;
  /** The spool root (`$SEALOG_SPOOL_DIR`, default `~/.local/state/sealog/spool`). */
  spoolDir?: string;
  /** The spool's cap in bytes (≥ 0, default 256 MiB); past it events are lost and a gap recorded. */
  spoolMaxBytes?: number;
  /** fsync each spool append (default true): survives power loss, not only a crash. */
  spoolFsync?: boolean;
  /** How long the server may be down before queued events go to the spool, ms (≥ 0, default 2000). */
  spillAfterMs?: number;
  /** The first and the longest wait between retries, ms (> 0; defaults 100 and 10,000). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** How long one request may take, ms (> 0, default 30,000). */
  requestTimeoutMs?: number;
  /** How long the close on `beforeExit` may take, ms (≥ 0, default 5000). */
  exitTimeoutMs?: number;
  /** Called with each event the server rejects. */
  onReject?: (r: Rejection) => void;
}

/** What `stats()` reports. */
export type Stats = DeliveryCounts & { queued: number; spool_bytes: number };

type Numeric = "batchSize" | "maxQueue" | "spoolMaxBytes" | "flushIntervalMs" | "spillAfterMs" | "backoffBaseMs" | "backoffMaxMs" | "requestTimeoutMs" | "exitTimeoutMs";
// name -> [default, least allowed, whether the least is allowed, integer only]
const NUMERIC: Record<Numeric, [number, number, boolean, boolean]> = {
  batchSize: [1000, 1, true, true],
  maxQueue: [50_000, 1, true, true],
  spoolMaxBytes: [256 * 1024 * 1024, 0, true, true],
  flushIntervalMs: [200, 0, false, false],
  spillAfterMs: [2000, 0, true, false],
  backoffBaseMs: [100, 0, false, false],
  backoffMaxMs: [10_000, 0, false, false],
  requestTimeoutMs: [30_000, 0, false, false],
  exitTimeoutMs: [5000, 0, true, false],
};

/** Option `name` checked: a bad value throws where it is written, not as a stalled loop. */
function numeric(opts: SealogOptions, name: Numeric): number {
  const [dflt, least, leastOk, integer] = NUMERIC[name];
  const v = opts[name] ?? dflt;
  const bound = `${leastOk ? "at least" : "greater than"} ${least}`;
  if (typeof v !== "number" || Number.isNaN(v) || (integer && !Number.isInteger(v))) {
    throw new TypeError(`${name} must be ${integer ? "an integer" : "a number"} ${bound}; got ${JSON.stringify(v) ?? String(v)}`);
  }
  if (leastOk ? v < least : v <= least) throw new RangeError(`${name} must be ${bound}; got ${v}`);
  if (!integer && !Number.isFinite(v) && name !== "spillAfterMs") throw new RangeError(`${name} must be finite; got ${v}`);
  return v;
}

/**
 * A payload whose committed bytes are fixed when the event is recorded and whose HMAC is
 * computed when the event is encoded for delivery (`JSON.stringify` calls `toJSON`): the
 * caller pays for the canonical bytes only, and a value changed later is committed as it was.
 */
class PendingCommitment {
  constructor(readonly data: Buffer, readonly key: Buffer, readonly mediaType: string | undefined) {}

  /** `{commitment, size, media_type?}`. */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = {
      commitment: COMMITMENT_PREFIX + createHmac("sha256", this.key).update(this.data).digest("base64"),
      size: this.data.length,
    };
    if (this.mediaType !== undefined) out["media_type"] = this.mediaType;
    return out;
  }
}

/** Best-effort conversion of a value to JSON (for content and commitments). */
export function toJsonValue(v: unknown, depth = 0): unknown {
  if (v === null || typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "number") return Number.isFinite(v) ? v : String(v);
  if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v === undefined || typeof v === "function" || typeof v === "symbol") return null;
  if (depth > 14) return String(v);
  if (v instanceof Date) return toTs(v);
  if (v instanceof Uint8Array) return Buffer.from(v).toString("base64");
  if (v instanceof Error) return { type: v.name, message: v.message };
  if (Array.isArray(v) || v instanceof Set) return [...v].map((x) => toJsonValue(x, depth + 1));
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), toJsonValue(x, depth + 1)]));
  const json = (v as { toJSON?: () => unknown }).toJSON;
  if (typeof json === "function") return toJsonValue(json.call(v), depth + 1);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = toJsonValue(x, depth + 1);
  return out;
}

interface Ambient {
  session?: Session;
  span?: Span;
}

/** The current session and span of the code running (across `await`s). */
const ambient = new AsyncLocalStorage<Ambient>();
const live = new Set<Sealog>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // beforeExit comes when the event loop has nothing left: deliver (bounded) or spool what is
  // queued. A client closed here leaves the set, so the hook does not fire for it again.
  process.on("beforeExit", () => {
    for (const c of live) void c.close(c.exitTimeoutMs);
  });
}

/** Client for one Sealog log. */
export class Sealog {
  readonly url: string;
  readonly log: string;
  readonly agent: Record<string, string>;
  readonly captureContent: boolean;
  readonly redactor: Redactor | undefined;
  readonly exitTimeoutMs: number;
  private readonly key: Buffer;
  private readonly transport: Transport;
  private readonly delivery: Delivery;

  /** Build a client; nothing is sent until the first event. A bad option throws. */
  constructor(opts: SealogOptions = {}) {
    const env = process.env;
    const settings = {
      batchSize: numeric(opts, "batchSize"),
      flushIntervalMs: numeric(opts, "flushIntervalMs"),
      maxQueue: numeric(opts, "maxQueue"),
      spillAfterMs: numeric(opts, "spillAfterMs"),
      backoffBaseMs: numeric(opts, "backoffBaseMs"),
      backoffMaxMs: numeric(opts, "backoffMaxMs"),
      requestTimeoutMs: numeric(opts, "requestTimeoutMs"),
      onReject: opts.onReject,
    };
    const spoolMaxBytes = numeric(opts, "spoolMaxBytes");
    this.exitTimeoutMs = numeric(opts, "exitTimeoutMs");
    this.url = (opts.url || env["SEALOG_URL"] || DEFAULT_URL).replace(/\/+$/, "");
    this.log = opts.log || env["SEALOG_LOG"] || "default";
    const agent = opts.agent || env["SEALOG_AGENT"] || "typescript";
    this.agent = typeof agent === "string" ? { id: agent } : { ...agent };
    const key = opts.commitmentKey ?? env["SEALOG_COMMITMENT_KEY"];
    if (key === undefined || key === "") {
      console.warn("sealog: no commitmentKey (or SEALOG_COMMITMENT_KEY); using a random per-process key, so commitments can not be checked later");
      this.key = randomBytes(32);
    } else {
      this.key = asKey(key);
    }
    this.captureContent = opts.captureContent ?? false;
    this.redactor = opts.redact instanceof Redactor ? opts.redact : opts.redact ? new Redactor() : undefined;
    const apiKey = opts.apiKey || env["SEALOG_API_KEY"] || undefined;
    this.transport = new Transport(this.url, apiKey);
    const spoolDir = spoolDirFor(opts.spoolDir ?? defaultSpoolRoot(), this.url, this.log);
    const spool = new Spool(spoolDir, spoolKeyId(apiKey), spoolMaxBytes, opts.spoolFsync ?? true);
    this.delivery = new Delivery(this.transport, this.log, spool, settings, (fields) => this.build("gap", fields));
    live.add(this);
    installExitHook();
  }

  /**
   * Queue an event; returns its id at once. Never throws: misuse is logged, counted in
   * `stats().invalid`, and the call returns `""`.
   */
  record(action: string, opts: RecordOptions = {}): string {
    let ev: WireEvent;
    try {
      ev = this.build(action, opts);
    } catch (e) {
      return this.misuse(`record(${JSON.stringify(action)})`, e);
    }
    return this.enqueue(ev);
  }

  /**
   * Send one event now and resolve to the server's receipt. `wait: "checkpoint"` (the default
   * `durable`) also waits for a signed checkpoint, and the receipt then holds a tlog-proof
   * (`receipt.verify(logKey)`). Rejects with `EventRejected`, or `DeliveryError` (the event
   * was spooled and will still be delivered).
   */
  async recordSync(action: string, opts: SyncOptions = {}): Promise<Receipt> {
    const { wait = "durable", timeoutMs = 30_000, ...rest } = opts;
    if (wait !== "durable" && wait !== "checkpoint") throw new Error("wait must be 'durable' or 'checkpoint'");
    return this.delivery.sendNow(this.build(action, rest), wait, timeoutMs);
  }

  /**
   * Run `fn` in a session: `session_start`, then every event recorded inside (across awaits)
   * numbered with `session.seq`, then `session_end` with the count (status `error` if `fn`
   * throws; the error is rethrown).
   */
  async session<T>(id: string | undefined, fn: (s: Session) => Promise<T> | T, attributes?: Record<string, unknown>): Promise<T> {
    const s = new Session(this, id ?? uuid7());
    s.start(attributes);
    let status = "ok";
    try {
      return await ambient.run({ ...ambient.getStore(), session: s }, () => fn(s));
    } catch (e) {
      status = "error";
      throw e;
    } finally {
      s.end(status);
    }
  }

  /**
   * Run `fn` as a span: one event of `action` when it ends, with its duration, status (`error`
   * if it throws: the error's type in clear, its message committed as content) and W3C trace
   * ids; events recorded inside are its children.
   */
  async span<T>(action: string, opts: SpanOptions, fn: (span: Span) => Promise<T> | T): Promise<T> {
    const parent = ambient.getStore()?.span;
    const span = new Span(this, action, opts, parent);
    try {
      const out = await ambient.run({ ...ambient.getStore(), span }, () => fn(span));
      span.end();
      return out;
    } catch (e) {
      span.fail(e);
      throw e;
    }
  }

  /** Wrap `fn`: each call is a span of `action`, its arguments the input, its result the output. */
  trace<A extends unknown[], R>(action: string, fn: (...args: A) => R | Promise<R>, opts: SpanOptions & { captureArgs?: boolean } = {}): (...args: A) => Promise<R> {
    const { captureArgs = true, ...spanOpts } = opts;
    return (...args: A) =>
      this.span(action, spanOpts, async (span) => {
        if (captureArgs) span.input = args;
        const out = await fn(...args);
        span.output = out;
        return out;
      });
  }

  /** Record a human sign-off / override / stop (`human_oversight`). */
  oversight(o: { reviewer: string; decision: "approved" | "rejected" | "overridden" | "stopped"; target?: string; reason?: string; role?: string; required?: boolean; reviewedAt?: TimeLike } & Omit<RecordOptions, "oversight" | "decision">): string {
    const { reviewer, decision, target, reason, role, required, reviewedAt, ...rest } = o;
    const oversight = { reviewer, decision, target, reason, role, required, reviewed_at: reviewedAt === undefined ? undefined : toTs(reviewedAt) };
    return this.record("human_oversight", { ...rest, oversight: dropUndefined(oversight) as HumanOversight });
  }

  /**
   * Hold a call of `tool` until a reviewer decides; resolves to the {@link Approval}. Records a
   * `pending` `tool_call` (`args` committed like any input) and waits for its decision
   * (dashboard or approvals API), or `timeoutMs` (default 300,000), after which it is rejected
   * by `sealog-timeout` on the record. Rejects with `DeliveryError` if the server can not be
   * reached to hold the call; an aborted `signal` stops the wait and leaves the call pending.
   */
  async requireApproval(tool: string, args?: unknown, opts: ApprovalOptions & { session?: Session } = {}): Promise<Approval> {
    const timeoutMs = opts.timeoutMs ?? 300_000;
    const held = this.build("tool_call", { tool: { name: tool }, input: args, status: "pending", oversight: { required: true }, ...(opts.session ? { session: opts.session } : {}) });
    await this.delivery.sendNow(held, "durable", Math.min(timeoutMs, 30_000));
    const path = `/v1/logs/${encodeURIComponent(this.log)}/approvals/${held.id}`;
    return new Held(this.transport, path, held.id).decide({ ...opts, timeoutMs });
  }

  /**
   * Record a policy flag (`policy_flag`) with status `action` (default `blocked`; a status that
   * is not standard becomes `x-<action>`); `reason` goes into the attributes and, unless a
   * `decision` is given, the decision block.
   */
  flag(reason: string, action = "blocked", opts: Omit<RecordOptions, "status"> = {}): string {
    return this.record("policy_flag", {
      decision: { outcome: action, reason_codes: [reason] },
      ...opts,
      attributes: { reason, ...opts.attributes },
      status: validStatus(action) ? action : `x-${action}`,
    });
  }

  /** Counters: queued, sent, duplicates, spooled, replayed, retried, rejected, lost, invalid, spool_bytes. */
  stats(): Stats {
    return this.delivery.stats();
  }

  /** The most recent events the server rejected (with its reason). */
  get rejections(): readonly Rejection[] {
    return this.delivery.rejections;
  }

  /** Deliver everything queued (and this process's spool). True when all was acknowledged. */
  flush(timeoutMs = 10_000): Promise<boolean> {
    return this.delivery.flush(timeoutMs);
  }

  /** Flush with a bounded wait, spool whatever is left, stop. */
  async close(timeoutMs = 10_000): Promise<boolean> {
    live.delete(this);
    return this.delivery.close(timeoutMs);
  }

  /** `GET /v1/logs/{log}`: origin, vkey, size, checkpoint. */
  async logInfo(): Promise<Record<string, unknown>> {
    const r = await this.transport.request("GET", `/v1/logs/${encodeURIComponent(this.log)}`, undefined, 30_000);
    if (r.status !== 200) throw new Error(`${r.status}: ${errorOf(r).message}`);
    return JSON.parse(r.body) as Record<string, unknown>;
  }

  /** Fetch the tlog-proof of an event (`GET …/events/{id}/proof`; needs a read key). */
  async getReceipt(eventId: string): Promise<Receipt> {
    const r = await this.transport.request("GET", `${this.delivery.path}/${encodeURIComponent(eventId)}/proof`, undefined, 30_000);
    if (r.status !== 200) throw new Error(`${r.status}: ${errorOf(r).message}`);
    return new Receipt(eventId, "accepted", undefined, undefined, r.body);
  }

  /** A payload: committed (the default) or plain content, redacted if configured. */
  payload(value: unknown, plain: boolean, mediaType: string | undefined): unknown {
    if (!plain) {
      let data: Buffer;
      try {
        data = committedBytes(value);
      } catch {
        data = canonicalJson(toJsonValue(value));
      }
      const media = mediaType ?? (value instanceof Uint8Array ? "application/octet-stream" : undefined);
      return new PendingCommitment(data, this.key, media);
    }
    const out: Record<string, unknown> = {};
    let content = toJsonValue(value);
    if (this.redactor !== undefined) {
      const [redacted, found] = this.redactor.redact(content);
      content = redacted;
      if (found.length > 0) out["redacted"] = found;
    }
    out["content"] = content;
    if (mediaType) out["media_type"] = mediaType;
    return out;
  }

  /** Whether content (input, output, error text) is stored in plain for `opts`. */
  plain(opts: { content?: boolean }): boolean {
    return opts.content ?? this.captureContent;
  }

  /** Build an event (throws for misuse); `sessionMember` is the session's own numbering. */
  build(action: string, opts: RecordOptions, sessionMember?: Record<string, unknown>): WireEvent {
    if (!ACTIONS.has(action) && !validAction(action)) throw new Error(`invalid action ${JSON.stringify(action)} (use a standard action or 'x-<name>')`);
    const status = opts.status ?? "ok";
    if (!validStatus(status)) throw new Error(`invalid status ${JSON.stringify(status)}`);
    const micros = opts.ts === undefined ? nowMicros() : undefined;
    const ev: WireEvent = {
      id: opts.id ?? uuid7(micros === undefined ? Date.now() : Number(micros / 1000n)),
      ts: micros === undefined ? toTs(opts.ts ?? 0) : formatTsMicros(micros),
      agent: opts.agent === undefined ? this.agent : typeof opts.agent === "string" ? { id: opts.agent } : opts.agent,
      action,
      status,
    };
    if (opts.started !== undefined) ev["started"] = toTs(opts.started);
    const plain = this.plain(opts);
    if (opts.input !== undefined) ev["input"] = this.payload(opts.input, plain, opts.media_type);
    if (opts.output !== undefined) ev["output"] = this.payload(opts.output, plain, opts.media_type);
    const ctx = contextOf(opts);
    if (ctx !== undefined) ev["context"] = ctx;
    if (opts.attributes !== undefined && Object.keys(opts.attributes).length > 0) ev["attributes"] = toJsonValue(opts.attributes);
    const span = ambient.getStore()?.span;
    const trace = opts.trace ?? (span === undefined ? undefined : span.childTrace());
    if (trace !== undefined) ev["trace"] = trace;
    // Numbered last, once nothing else can fail: a seq taken by a dropped event would look
    // like a gap in the session.
    const session = opts.session ?? ambient.getStore()?.session;
    if (sessionMember !== undefined) ev["session"] = sessionMember;
    else if (session !== undefined) ev["session"] = { id: session.id, seq: session.nextSeq() };
    return ev;
  }

  /** Queue an already-built event (for sessions and spans). */
  enqueue(ev: WireEvent): string {
    this.delivery.enqueue(ev);
    return ev.id;
  }

  /** Count and log a misuse found while building an event for the SDK itself. */
  misuse(action: string, e: unknown): string {
    this.delivery.counts.invalid++;
    console.error(`sealog: ${action} misuse: ${e instanceof Error ? e.message : String(e)}`);
    return "";
  }
}

function dropUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

const BLOCKS = ["model", "prompt", "tool", "policy", "data", "decision", "oversight", "metrics", "subject"] as const;

function contextOf(opts: RecordOptions): Record<string, unknown> | undefined {
  const ctx: Record<string, unknown> = opts.context === undefined ? {} : (toJsonValue(opts.context) as Record<string, unknown>);
  for (const b of BLOCKS) if (opts[b] !== undefined) ctx[b] = toJsonValue(opts[b]);
  if (opts.checks !== undefined) ctx["checks"] = opts.checks.map((c: Check) => toJsonValue(c));
  return Object.keys(ctx).length > 0 ? ctx : undefined;
}

/** A session: `session_start` … events with `session.seq` … `session_end` (with the count). */
export class Session {
  private seq = 0;
  private ended = false;

  /** A session of `client` with id `id` (use `client.session(…)` to run code in one). */
  constructor(readonly client: Sealog, readonly id: string) {}

  /** Take the next `session.seq`. */
  nextSeq(): number {
    return this.seq++;
  }

  /** How many events the session has numbered so far. */
  get count(): number {
    return this.seq;
  }

  /** `client.record()` in this session, even outside the function it runs. */
  record(action: string, opts: Omit<RecordOptions, "session"> = {}): string {
    return this.client.record(action, { ...opts, session: this });
  }

  /** Record `session_start`. */
  start(attributes?: Record<string, unknown>): string {
    return this.client.record("session_start", attributes === undefined ? { session: this } : { session: this, attributes });
  }

  /** Record `session_end` with the session's event count; only the first call does. */
  end(status = "ok", attributes?: Record<string, unknown>): string {
    if (this.ended) return "";
    this.ended = true;
    try {
      const seq = this.nextSeq();
      const ev = this.client.build("session_end", attributes === undefined ? { status } : { status, attributes }, { id: this.id, seq, count: seq + 1 });
      return this.client.enqueue(ev);
    } catch (e) {
      return this.client.misuse("session_end", e);
    }
  }
}

/** A span in progress; `client.span(…)` records it when its function returns or throws. */
export class Span {
  readonly traceId: string;
  readonly spanId = randomHex(8);
  readonly parentSpanId: string | undefined;
  /** When the span began, on the clock event timestamps use (so `started` ≤ `ts`). */
  readonly started = formatTsMicros(nowMicros());
  private readonly t0 = performance.now();
  /** The span's input and output (committed unless content is captured). */
  input: unknown;
  output: unknown;
  status: string | undefined;
  readonly attributes: Record<string, unknown>;
  /** The id of the span's event, once recorded. */
  eventId = "";

  /** A span of `action` under `parent` (or a new trace). */
  constructor(readonly client: Sealog, readonly action: string, readonly opts: SpanOptions, parent: Span | undefined) {
    this.traceId = parent?.traceId ?? randomHex(16);
    this.parentSpanId = parent?.spanId;
    this.input = opts.input;
    this.output = opts.output;
    this.status = opts.status;
    this.attributes = { ...opts.attributes };
  }

  /** The trace ids of a plain event recorded inside this span (a span id of its own). */
  childTrace(): TraceIds {
    return { trace_id: this.traceId, span_id: randomHex(8), parent_span_id: this.spanId };
  }

  /** The span's own `trace` member. */
  get trace(): TraceIds {
    return this.parentSpanId === undefined ? { trace_id: this.traceId, span_id: this.spanId } : { trace_id: this.traceId, span_id: this.spanId, parent_span_id: this.parentSpanId };
  }

  /** Record the span as ended without error. */
  end(): void {
    this.eventId = this.emit(this.status ?? "ok");
  }

  /**
   * Record the span as failed: the error's type in clear, its message as content — committed
   * unless content is captured, since error text often echoes the input.
   */
  fail(e: unknown): void {
    this.attributes["error.type"] = e instanceof Error ? e.name : typeof e;
    const message = (e instanceof Error ? e.message : String(e)).slice(0, 1000);
    this.attributes["error.message"] = errorText(this.client, message, this.opts);
    this.eventId = this.emit("error");
  }

  private emit(status: string): string {
    this.attributes["duration_ms"] ??= Math.round((performance.now() - this.t0) * 1000) / 1000;
    const opts: RecordOptions = { ...this.opts, status, started: this.started, attributes: this.attributes, trace: this.trace };
    if (this.input !== undefined) opts.input = this.input;
    if (this.output !== undefined) opts.output = this.output;
    return this.client.record(this.action, opts);
  }
}

/** Error text as events carry it: plain if content is captured, else its commitment. */
export function errorText(client: Sealog, message: string, opts: { content?: boolean }): unknown {
  return client.plain(opts) ? message : client.payload(message, false, undefined);
}
