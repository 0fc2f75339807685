/** `log.requireApproval` against the REAL sealog binary: a reviewer approves or rejects through
 * the approvals API, or nobody decides and the call times out; each decision is a
 * `human_oversight` event targeting the held call. */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { DeliveryError, Sealog, TIMEOUT_REVIEWER, type Approval } from "../src/index.js";
import { SealogServer, tempDir, waitFor } from "./server.js";

const KEY = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const server = new SealogServer();

before(() => server.start());
after(() => server.stop());

function client(url = server.url): Sealog {
  return new Sealog({ url, apiKey: server.ingestKey, commitmentKey: KEY, spoolDir: tempDir(), agent: "coder" });
}

interface Listed {
  event_id: string;
  tool: { name: string };
}

async function heldCalls(): Promise<Listed[]> {
  return ((await server.request("GET", "/v1/logs/default/approvals", undefined, server.readKey)) as { pending: Listed[] }).pending;
}

/** Decides the one held call with `body` as soon as it is listed. */
async function review(body: Record<string, unknown>): Promise<void> {
  let listed: Listed[] = [];
  await waitFor(async () => (listed = await heldCalls()).length === 1, 20_000, "the held call to be listed");
  assert.equal(listed[0]?.tool.name, "delete_file");
  await server.request("POST", `/v1/logs/default/approvals/${listed[0]?.event_id}`, body);
}

/** `requireApproval` while a reviewer decides with `body` (undefined: nobody does). */
async function decided(log: Sealog, body: Record<string, unknown> | undefined, timeoutMs: number): Promise<Approval> {
  const [out] = await Promise.all([log.requireApproval("delete_file", { path: "/srv" }, { timeoutMs, pollIntervalMs: 50 }), body && review(body)]);
  return out;
}

test("a held call is approved, rejected or times out, on the record", async () => {
  const log = client();
  try {
    const ok = await decided(log, { decision: "approved", reason: "fine" }, 20_000);
    assert.deepEqual([ok.approved, ok.decision, ok.reason], [true, "approved", "fine"]);
    const no = await decided(log, { decision: "rejected" }, 20_000);
    assert.deepEqual([no.approved, no.decision, no.reason], [false, "rejected", undefined]);
    const late = await decided(log, undefined, 500);
    assert.deepEqual([late.approved, late.reviewer, late.reason], [false, TIMEOUT_REVIEWER, "no reviewer decided within 500 ms"]);
    assert.deepEqual(await heldCalls(), []);
    for (const a of [ok, no, late]) {
      const one = (await server.request("GET", `/v1/logs/default/approvals/${a.eventId}`)) as { decision: string; reviewer: string };
      assert.deepEqual([one.decision, one.reviewer], [a.decision, a.reviewer]);
    }
    const held = (await server.events("action=tool_call")).filter((e) => e["status"] === "pending");
    assert.equal(held.length, 3);
    for (const e of held) {
      const input = e["input"] as Record<string, unknown>;
      assert.ok(typeof input["commitment"] === "string" && !("content" in input), JSON.stringify(e));
    }

    // An aborted wait stops at once and records nothing more: the call stays pending.
    const stop = new AbortController();
    const waiting = log.requireApproval("delete_file", { path: "/tmp" }, { timeoutMs: 500, signal: stop.signal });
    await waitFor(async () => (await heldCalls()).length === 1, 20_000, "the held call to be listed");
    stop.abort(new Error("the agent gave up"));
    await assert.rejects(waiting, /the agent gave up/);
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual((await heldCalls()).map((h) => h.tool.name), ["delete_file"]);
  } finally {
    await log.close();
  }
});

test("a call can not be held without a server to hold it on", async () => {
  const log = client("http://127.0.0.1:9");
  try {
    await assert.rejects(log.requireApproval("delete_file", undefined, { timeoutMs: 1000 }), DeliveryError);
  } finally {
    await log.close(0);
  }
});
