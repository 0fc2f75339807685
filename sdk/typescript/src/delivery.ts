/**
 * The delivery loop: in-memory queue, batching, retries and the on-disk spool.
 *
 * `record()` only pushes onto an array; one loop per client (on the event loop, never blocking
 * it: gzip, file writes and fsync run on libuv's pool) turns the queue into gzip'd batches,
 * posts them, backs off (exponential, jittered, at least `Retry-After`) when the server is
 * unavailable, and spills to the crash-safe spool when a batch fails, when the queue reaches
 * `maxQueue`, or when the server has been down for `spillAfter`. The spool is replayed when
 * the server answers again; event ids make replays idempotent. Events the server rejects are
 * reported, not retried; events the full spool refuses are counted and recorded by a `gap`.
 */
import { Receipt } from "./receipt.js";
import { Spool } from "./spool.js";
import { Transport, TransportError, errorOf, parseRetryAfter, type HttpResponse } from "./transport.js";
import { formatTsMicros, nowMicros } from "./event.js";

/** An event as built by the client (its payloads may still be pending commitments). */
export type WireEvent = Record<string, unknown> & { id: string };

/** An event the server (or the encoder) refused, with the reason. */
export interface Rejection {
  id: string;
  code: string;
  message: string;
  event: unknown;
}

/** The delivery counters that `stats()` reports. */
export interface DeliveryCounts {
  sent: number;
  duplicates: number;
  spooled: number;
  replayed: number;
  retried: number;
  rejected: number;
  lost: number;
  invalid: number;
}

/** The tunables of delivery, all checked by the client before they get here. */
export interface DeliverySettings {
  batchSize: number;
  flushIntervalMs: number;
  maxQueue: number;
  spillAfterMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  requestTimeoutMs: number;
  onReject: ((r: Rejection) => void) | undefined;
}

/** Thrown by `recordSync` when the event could not be delivered now (it was spooled). */
export class DeliveryError extends Error {
  override name = "DeliveryError";
}

/** Thrown by `recordSync` when the server rejected the event. */
export class EventRejected extends Error {
  override name = "EventRejected";
  /** The rejected event's receipt (status `rejected`, with the server's error). */
  constructor(readonly receipt: Receipt) {
    super(`event ${receipt.id} rejected: ${receipt.error?.code ?? ""} ${receipt.error?.message ?? ""}`);
  }
}

const RETRYABLE = new Set([408, 425, 429, 500, 502, 503, 504]);
const CONFIG_ERRORS = new Set([401, 403, 404]);
const MAX_REJECTIONS = 1000;

type Outcome = { kind: "ok" } | { kind: "retry"; retryAfterS: number | undefined } | { kind: "config" };

/** A timer that does not keep the process alive on its own. */
const idle = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());
/** A timer that does (for callers that are waiting on purpose: flush, close, recordSync). */
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Delivers one client's events to `POST /v1/logs/{log}/events`; never loses one silently. */
export class Delivery {
  readonly counts: DeliveryCounts = { sent: 0, duplicates: 0, spooled: 0, replayed: 0, retried: 0, rejected: 0, lost: 0, invalid: 0 };
  readonly rejections: Rejection[] = [];
  readonly path: string;
  closed = false;
  private queue: WireEvent[] = [];
  private pumping: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private spoolChain: Promise<unknown> = Promise.resolve();
  private retryAt = 0;
  private failures = 0;
  private downSince: number | undefined;
  /** Why the last attempt failed, for the outage warning. */
  private lastFailure = "";
  private replayPending: boolean;
  private flushWaiters = 0;

  /** `makeGap` builds the `gap` event recording a loss from the fields that describe it. */
  constructor(
    readonly transport: Transport,
    log: string,
    readonly spool: Spool,
    readonly settings: DeliverySettings,
    private readonly makeGap: (fields: { status: string; attributes: Record<string, unknown> }) => WireEvent,
  ) {
    this.path = `/v1/logs/${encodeURIComponent(log)}/events`;
    this.replayPending = spool.sizeBytes > 0;
    if (this.replayPending) this.kick();
  }

  /** Queue one built event. Never throws. */
  enqueue(ev: WireEvent): void {
    if (this.closed) {
      void this.spill([ev]);
      return;
    }
    const q = this.queue;
    q.push(ev);
    if (q.length >= this.settings.maxQueue) void this.spill(this.takeQueue());
    if (q.length >= this.settings.batchSize) this.kick();
    else this.timer ??= setTimeout(() => this.kick(), this.settings.flushIntervalMs).unref();
  }

  /** Queued events, spool size and the counters. */
  stats(): DeliveryCounts & { queued: number; spool_bytes: number } {
    return { ...this.counts, queued: this.queue.length, spool_bytes: this.spool.sizeBytes };
  }

  /** Whether anything of this process is still undelivered. */
  get pending(): boolean {
    return this.queue.length > 0 || this.pumping !== undefined || this.replayPending || this.spool.ownPending;
  }

  /** Wait until everything queued (and this process's spool) was acknowledged. */
  async flush(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    this.flushWaiters++;
    try {
      while (this.pending) {
        if (Date.now() >= deadline) return false;
        this.kick();
        await pause(10);
      }
      return true;
    } finally {
      this.flushWaiters--;
    }
  }

  /** Flush with a bounded wait, spool whatever is left, stop. */
  async close(timeoutMs: number): Promise<boolean> {
    if (this.closed) return true;
    const ok = await this.flush(timeoutMs);
    this.closed = true;
    clearTimeout(this.timer);
    await this.spill(this.takeQueue());
    await this.serialSpool(() => this.spool.closeSegment());
    return ok;
  }

  /** Seconds → ms to wait before retry `attempt`: exponential, jittered, ≥ `Retry-After`. */
  backoffMs(attempt: number, retryAfterS: number | undefined): number {
    const { backoffBaseMs, backoffMaxMs } = this.settings;
    const d = Math.min(backoffMaxMs, backoffBaseMs * 2 ** Math.min(attempt, 20)) * (0.5 + Math.random() * 0.5);
    return retryAfterS === undefined ? d : Math.max(d, Math.min(retryAfterS, 300) * 1000);
  }

  /**
   * POST one event with `?wait=` and return the server's receipt (`recordSync`). Retries with
   * backoff until `timeoutMs`; on giving up, or on an answer retrying will not change, the event
   * is spooled and {@link DeliveryError} thrown. A rejection throws {@link EventRejected}.
   */
  async sendNow(ev: WireEvent, wait: "durable" | "checkpoint", timeoutMs: number): Promise<Receipt> {
    const body = `{"events":[${JSON.stringify(ev)}]}`;
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 1; ; attempt++) {
      let retryAfterS: number | undefined;
      try {
        const r = await this.transport.request("POST", `${this.path}?wait=${wait}`, body, Math.max(500, deadline - Date.now()));
        // A 422 with results is a batch of which nothing was stored: its one result says why
        // (rejected, or a conflict with the event that holds the id).
        if ((r.status >= 200 && r.status < 300) || (r.status === 422 && hasResults(r))) return this.syncReceipt(ev, r);
        if (!RETRYABLE.has(r.status)) {
          const err = errorOf(r);
          if (r.status === 400 || r.status === 413 || r.status === 422) {
            this.reject(ev, err);
            throw new EventRejected(new Receipt(ev.id, "rejected", undefined, undefined, undefined, err));
          }
          await this.spill([ev]);
          throw new DeliveryError(`server answered ${r.status} ${err.code}: ${err.message}`);
        }
        retryAfterS = parseRetryAfter(r.headers.get("retry-after"));
      } catch (e) {
        if (!(e instanceof TransportError)) throw e;
      }
      this.counts.retried++;
      const waitMs = this.backoffMs(attempt, retryAfterS);
      if (Date.now() + waitMs > deadline) {
        await this.spill([ev]);
        throw new DeliveryError(`no acknowledgement within ${timeoutMs} ms; event spooled`);
      }
      await pause(waitMs);
    }
  }

  private syncReceipt(ev: WireEvent, r: HttpResponse): Receipt {
    const res = (JSON.parse(r.body) as { results?: Record<string, unknown>[] }).results?.[0];
    if (res === undefined) throw new DeliveryError(`server answered ${r.status} without results`);
    const opt = <T>(v: unknown, type: string): T | undefined => (typeof v === type ? (v as T) : undefined);
    const rec = new Receipt(
      String(res["id"] ?? ev.id),
      String(res["status"]),
      opt<number>(res["index"], "number"),
      opt<string>(res["leaf_hash"], "string"),
      opt<string>(res["proof"], "string"),
      res["error"] === undefined ? undefined : errorMember(res["error"], res["status"]),
    );
    if (rec.status === "rejected") {
      this.reject(ev, rec.error ?? {});
      throw new EventRejected(rec);
    }
    this.counts.sent++;
    if (rec.status === "duplicate") this.counts.duplicates++;
    return rec;
  }

  // -- the loop -----------------------------------------------------------------------------

  /** Start the loop unless it runs. */
  kick(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pumping !== undefined) return;
    this.pumping = this.pump()
      .catch((e: unknown) => console.error("sealog: delivery loop error (continuing):", e))
      .finally(() => {
        this.pumping = undefined;
        // Come back for what is left: queued events, or a spool the server could not take.
        if (this.queue.length > 0 || (this.spool.sizeBytes > 0 && !this.closed)) {
          this.timer ??= setTimeout(() => this.kick(), this.retryAt > Date.now() ? this.retryAt - Date.now() : 1000).unref();
        }
      });
  }

  private async pump(): Promise<void> {
    for (;;) {
      const wait = this.retryAt - Date.now();
      if (wait > 0) {
        const down = this.downSince !== undefined && Date.now() - this.downSince >= this.settings.spillAfterMs;
        if (this.queue.length > 0 && (down || this.closed)) await this.spill(this.takeQueue());
        if (this.flushWaiters === 0 && this.queue.length === 0) return;
        await idle(Math.min(wait, 50));
        continue;
      }
      if (this.queue.length > 0) {
        await this.drainOne();
        continue;
      }
      if (this.spool.sizeBytes > 0) await this.replay();
      return;
    }
  }

  private takeQueue(): WireEvent[] {
    const q = this.queue;
    this.queue = [];
    return q;
  }

  private encode(batch: WireEvent[]): { recs: string[]; evs: WireEvent[] } {
    const recs: string[] = [];
    const evs: WireEvent[] = [];
    for (const e of batch) {
      try {
        recs.push(JSON.stringify(e));
        evs.push(e);
      } catch (err) {
        this.reject(e, { code: "unencodable", message: String(err) });
      }
    }
    return { recs, evs };
  }

  private async drainOne(): Promise<void> {
    const { recs, evs } = this.encode(this.queue.splice(0, this.settings.batchSize));
    if (recs.length === 0) return;
    const out = await this.post(recs, evs);
    if (out.kind === "ok") return this.ok();
    await this.spoolRecords(recs.map((r) => Buffer.from(r, "utf8")));
    this.failed(out);
  }

  private async replay(): Promise<void> {
    // Our current segment becomes replayable once closed; closed between two appends, never
    // under one.
    await this.serialSpool(() => this.spool.closeSegment());
    for await (const seg of this.spool.claim()) {
      for (let i = 0; i < seg.records.length; i += this.settings.batchSize) {
        const chunk = seg.records.slice(i, i + this.settings.batchSize).map((b) => b.toString("utf8"));
        const out = await this.post(chunk, undefined);
        if (out.kind !== "ok") {
          await this.spool.release(seg);
          this.failed(out);
          return;
        }
        this.counts.replayed += chunk.length;
      }
      if (seg.corruptBytes > 0) console.error(`sealog: ${seg.corruptBytes} unreadable bytes at the end of ${seg.path} (torn write)`);
      await this.spool.done(seg);
      this.ok();
    }
    this.replayPending = false;
  }

  private ok(): void {
    if (this.failures > 0) console.warn(`sealog: delivery to ${this.transport.base} works again`);
    this.failures = 0;
    this.downSince = undefined;
    this.retryAt = 0;
  }

  private failed(out: Outcome): void {
    if (this.failures === 0) {
      // Once an outage, not once an attempt: the loop retries often.
      console.warn(
        `sealog: cannot deliver events to ${this.transport.base} (${this.lastFailure}); they wait in the spool at ${this.spool.dir} and are sent when it answers. Check SEALOG_URL, SEALOG_API_KEY and that the server is up`,
      );
    }
    this.failures++;
    this.counts.retried++;
    this.downSince ??= Date.now();
    const delay = out.kind === "config" ? this.settings.backoffMaxMs : this.backoffMs(this.failures, out.kind === "retry" ? out.retryAfterS : undefined);
    this.retryAt = Date.now() + delay;
  }

  /** POST encoded events; a batch the server refuses as a whole is split to isolate the bad. */
  private async post(recs: string[], evs: WireEvent[] | undefined): Promise<Outcome> {
    let r: HttpResponse;
    try {
      r = await this.transport.request("POST", this.path, `{"events":[${recs.join(",")}]}`, this.settings.requestTimeoutMs);
    } catch (e) {
      if (e instanceof TransportError) {
        this.lastFailure = e.message;
        return { kind: "retry", retryAfterS: undefined };
      }
      throw e;
    }
    if (r.status >= 200 && r.status < 300) return this.results(r, recs, evs);
    if (RETRYABLE.has(r.status) || CONFIG_ERRORS.has(r.status)) {
      const err = errorOf(r);
      this.lastFailure = `the server answered ${r.status} ${err.code}: ${err.message}`;
    }
    if (RETRYABLE.has(r.status)) return { kind: "retry", retryAfterS: parseRetryAfter(r.headers.get("retry-after")) };
    if (CONFIG_ERRORS.has(r.status)) {
      const err = errorOf(r);
      console.error(`sealog: server refused the batch (${r.status} ${err.code}: ${err.message}); events kept in the spool`);
      return { kind: "config" };
    }
    if ((r.status === 400 || r.status === 422) && hasResults(r)) return this.results(r, recs, evs);
    if (recs.length > 1) {
      const mid = recs.length >> 1;
      const a = await this.post(recs.slice(0, mid), evs?.slice(0, mid));
      return a.kind !== "ok" ? a : this.post(recs.slice(mid), evs?.slice(mid));
    }
    this.reject(evs?.[0] ?? parseOrNull(recs[0] ?? ""), errorOf(r));
    return { kind: "ok" };
  }

  private results(r: HttpResponse, recs: string[], evs: WireEvent[] | undefined): Outcome {
    const results = hasResults(r) ? (JSON.parse(r.body) as { results: Record<string, unknown>[] }).results : undefined;
    if (results === undefined) {
      console.warn(`sealog: ${r.status} answer without per-event results; counting the batch as sent`);
      this.counts.sent += recs.length;
      return { kind: "ok" };
    }
    results.forEach((res, i) => {
      const st = res["status"];
      if (st === "accepted" || st === "duplicate") {
        this.counts.sent++;
        if (st === "duplicate") this.counts.duplicates++;
        return;
      }
      const err = errorMember(res["error"], st);
      this.reject(evs?.[i] ?? parseOrNull(recs[i] ?? ""), err, typeof res["id"] === "string" ? res["id"] : undefined);
    });
    return { kind: "ok" };
  }

  private reject(ev: unknown, err: { code?: string; message?: string }, id?: string): void {
    // The user sees the event as it was sent: commitments computed, plain JSON.
    const event = typeof ev === "object" && ev !== null ? parseOrNull(JSON.stringify(ev)) : ev;
    const evId = id ?? ((event as { id?: unknown } | null)?.id as string | undefined) ?? "";
    const rj: Rejection = { id: String(evId), code: String(err.code ?? "rejected"), message: String(err.message ?? ""), event };
    this.counts.rejected++;
    this.rejections.push(rj);
    if (this.rejections.length > MAX_REJECTIONS) this.rejections.shift();
    console.warn(`sealog: event ${rj.id} rejected by the server: ${rj.code} ${rj.message}`);
    try {
      this.settings.onReject?.(rj);
    } catch (e) {
      console.error("sealog: onReject callback failed:", e);
    }
  }

  // -- the spool ----------------------------------------------------------------------------

  /** Write events to the spool (one fsync); count and report what does not fit. */
  spill(events: WireEvent[]): Promise<void> {
    if (events.length === 0) return Promise.resolve();
    return this.spoolRecords(this.encode(events).recs.map((r) => Buffer.from(r, "utf8")));
  }

  /** Run `fn` on the spool after every spool operation queued before it. */
  private serialSpool(fn: () => Promise<void>): Promise<void> {
    const next = this.spoolChain.then(fn);
    this.spoolChain = next.catch(() => undefined);
    return next;
  }

  private spoolRecords(recs: Buffer[], force = false): Promise<void> {
    return this.serialSpool(async () => {
      let written = 0;
      let dropped = recs.length;
      try {
        ({ written, dropped } = await this.spool.append(recs, force));
      } catch (e) {
        console.error("sealog: spool write failed:", e);
      }
      this.counts.spooled += written;
      if (dropped > 0 && !force) this.lost(dropped);
    });
  }

  /** Count events the spool refused, say so, and record a `gap` event for them (past the cap). */
  private lost(n: number): void {
    const at = formatTsMicros(nowMicros());
    this.counts.lost += n;
    console.error(`sealog: spool full (${this.spool.maxBytes} bytes); ${n} events lost (a gap event records it)`);
    const gap = this.makeGap({
      status: "error",
      attributes: { lost: n, first_lost_at: at, last_lost_at: at, reason: "spool_full", spool_max_bytes: this.spool.maxBytes },
    });
    // Chained after the append that lost them, so the gap follows in the spool.
    void this.spoolRecords([Buffer.from(JSON.stringify(gap), "utf8")], true);
  }
}

/** A per-event `error` (the server sends a message; older answers an object) as code and message. */
function errorMember(e: unknown, status: unknown): { code: string; message: string } {
  if (typeof e === "string") return { code: String(status), message: e };
  const o = (typeof e === "object" && e !== null ? e : {}) as { code?: unknown; message?: unknown };
  return { code: String(o.code ?? status), message: String(o.message ?? "") };
}

function hasResults(r: HttpResponse): boolean {
  const v = parseOrNull(r.body) as { results?: unknown } | null;
  return typeof v === "object" && v !== null && Array.isArray(v.results);
}

function parseOrNull(s: string): unknown {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return null;
  }
}
