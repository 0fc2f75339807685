/**
 * Human approval of a call before it runs (EU AI Act Art. 14): `Sealog.requireApproval`.
 *
 * The call is recorded as a `tool_call` with status `pending` (its arguments committed, like
 * any input); a reviewer approves or rejects it in the dashboard or through
 * `POST /v1/logs/{log}/approvals/{event_id}`; the decision is a `human_oversight` event the
 * server records, targeting the held call. Nobody deciding in time is a rejection by
 * `sealog-timeout`, recorded too.
 */
import { DeliveryError } from "./delivery.js";
import { Transport, TransportError, errorOf } from "./transport.js";

/** The reviewer of a call nobody decided in time. */
export const TIMEOUT_REVIEWER = "sealog-timeout";

/** A reviewer's decision on a held call. */
export interface Approval {
  /** The id of the held (`pending`) `tool_call` event. */
  eventId: string;
  /** `approved` or `rejected`. */
  decision: "approved" | "rejected";
  /** Who decided: the reviewer's key label, or `sealog-timeout`. */
  reviewer: string;
  /** Why, if the reviewer said. */
  reason?: string;
  /** True when the call may run. */
  approved: boolean;
}

/** The options of `requireApproval`. */
export interface ApprovalOptions {
  /** How long to wait for a decision before the call is rejected, ms (default 300,000). */
  timeoutMs?: number;
  /** How often to look for the decision, ms (default 250). */
  pollIntervalMs?: number;
  /** Stops the wait (the promise rejects with the signal's reason); the call stays pending. */
  signal?: AbortSignal;
}

function approval(eventId: string, decision: "approved" | "rejected", reviewer: string, reason?: string): Approval {
  const a: Approval = { eventId, decision, reviewer, approved: decision === "approved" };
  if (reason !== undefined) a.reason = reason;
  return a;
}

/** Sleeps `ms`, or rejects with the signal's reason as soon as it aborts. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", stop);
      resolve();
    }, ms);
    const stop = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", stop, { once: true });
  });
}

/** A call on the record as held (`path` is its approvals API path), waiting for its decision. */
export class Held {
  constructor(
    private readonly transport: Transport,
    readonly path: string,
    readonly eventId: string,
  ) {}

  /** The decision, looked for until `timeoutMs` has passed; then the timeout on the record. */
  async decide(o: ApprovalOptions): Promise<Approval> {
    const timeoutMs = o.timeoutMs ?? 300_000;
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      o.signal?.throwIfAborted();
      const found = await this.decision();
      if (found !== undefined) return found;
      await pause(Math.max(0, Math.min(o.pollIntervalMs ?? 250, deadline - performance.now())), o.signal);
    }
    return this.timeOut(timeoutMs);
  }

  /** The decision on the call, or undefined while it is pending or can not be read. */
  async decision(): Promise<Approval | undefined> {
    let r;
    try {
      r = await this.transport.request("GET", this.path, undefined, 30_000);
    } catch (e) {
      if (e instanceof TransportError) return undefined;
      throw e;
    }
    if (r.status !== 200) return undefined;
    const d = JSON.parse(r.body) as { decision?: unknown; reviewer?: unknown; reason?: unknown };
    if (d.decision !== "approved" && d.decision !== "rejected") return undefined;
    return approval(this.eventId, d.decision, String(d.reviewer), typeof d.reason === "string" ? d.reason : undefined);
  }

  /** Records that nobody decided within `timeoutMs`, unless a decision just landed. */
  private async timeOut(timeoutMs: number): Promise<Approval> {
    const reason = `no reviewer decided within ${timeoutMs} ms`;
    let r;
    try {
      r = await this.transport.request("POST", this.path, JSON.stringify({ decision: "rejected", timeout: true, reason }), 30_000);
    } catch (e) {
      if (e instanceof TransportError) throw new DeliveryError(`could not record the timeout of held call ${this.eventId}: ${e.message}`);
      throw e;
    }
    if (r.status === 409) {
      // decided just before the time was up: that decision stands
      const found = await this.decision();
      if (found !== undefined) return found;
    } else if (r.status !== 200) {
      const { code, message } = errorOf(r);
      throw new DeliveryError(`could not record the timeout of ${this.eventId}: ${r.status} ${code}: ${message}`);
    }
    return approval(this.eventId, "rejected", TIMEOUT_REVIEWER, reason);
  }
}
