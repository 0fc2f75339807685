/** The client against the real `sealog` binary: delivery, structure, receipts, the spool. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, test } from "node:test";
import { checkCommitment, Sealog, type SealogOptions } from "../src/index.js";
import { SealogServer, tempDir, waitFor } from "./server.js";

const KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const server = new SealogServer();

before(() => server.start());
after(() => server.stop());

function client(opts: SealogOptions = {}): Sealog {
  return new Sealog({ url: server.url, apiKey: server.ingestKey, commitmentKey: KEY, spoolDir: tempDir(), agent: "ts-test", ...opts });
}

/** The events with these ids, once the query index (which may trail the log a moment) has them all. */
async function settled(ids: string[]): Promise<Map<string, Record<string, unknown>>> {
  let found = new Map<string, Record<string, unknown>>();
  await waitFor(async () => (found = await byId(ids)).size === new Set(ids).size, 30_000, "the query index to hold the events");
  return found;
}

async function byId(ids: string[]): Promise<Map<string, Record<string, unknown>>> {
  const want = new Set(ids);
  const out = new Map<string, Record<string, unknown>>();
  for (const ev of await server.events()) if (want.has(ev["id"] as string)) out.set(ev["id"] as string, ev);
  return out;
}

test("record, sessions, spans, oversight and flags arrive; content is committed, not sent", async () => {
  const log = client();
  const ids: Record<string, string> = {};
  let spanEvent = "";
  let failedSpan = "";
  await log.session("ticket-42", async (s) => {
    ids["call"] = log.record("llm_call", { input: "What is my balance?", output: { answer: 12 }, model: { id: "gpt-4o", provider: "openai" }, metrics: { input_tokens: 5 } });
    await log.span("tool_call", { tool: { name: "lookup" } }, async (span) => {
      ids["inner"] = log.record("x-note");
      span.output = ["row"];
      await new Promise((r) => setTimeout(r, 5));
      spanEvent = span.spanId;
    });
    await assert.rejects(
      log.span("tool_call", { tool: { name: "charge" } }, () => {
        throw new TypeError("card 4111 1111 1111 1111 declined");
      }),
      TypeError,
    );
    failedSpan = "done";
    ids["oversight"] = log.oversight({ reviewer: "alice", decision: "approved", target: ids["call"] ?? "" });
    ids["flag"] = log.flag("pii_detected");
    assert.equal(s.count, 7); // start, call, inner, span, failed span, oversight, flag
  });
  assert.equal(failedSpan, "done");
  assert.ok(await log.flush(30_000));
  const st = log.stats();
  await log.close();
  assert.deepEqual([st.sent, st.lost, st.rejected, st.invalid], [8, 0, 0, 0], JSON.stringify(log.rejections));
  let evs: Record<string, unknown>[] = [];
  await waitFor(async () => (evs = await server.events("session=ticket-42")).length === 8, 30_000, "the session's events");
  const seqs = evs.map((e) => (e["session"] as { seq: number }).seq).sort((a, b) => a - b);
  assert.deepEqual(seqs, [0, 1, 2, 3, 4, 5, 6, 7]);
  const end = evs.find((e) => e["action"] === "session_end");
  assert.deepEqual(end?.["session"], { id: "ticket-42", seq: 7, count: 8 });
  const call = evs.find((e) => e["id"] === ids["call"]);
  assert.ok(call);
  const input = call["input"] as { commitment: string; size: number };
  assert.ok(checkCommitment("What is my balance?", input, KEY));
  assert.ok(!JSON.stringify(call).includes("balance"));
  assert.ok(checkCommitment({ answer: 12 }, call["output"] as { commitment: string }, KEY));
  assert.deepEqual(call["context"], { model: { id: "gpt-4o", provider: "openai" }, metrics: { input_tokens: 5 } });
  const spans = evs.filter((e) => e["action"] === "tool_call");
  const ok = spans.find((e) => e["status"] === "ok");
  const failed = spans.find((e) => e["status"] === "error");
  assert.ok(ok && failed);
  assert.equal((ok["trace"] as { span_id: string }).span_id, spanEvent);
  assert.equal(typeof (ok["attributes"] as { duration_ms: number }).duration_ms, "number");
  const inner = evs.find((e) => e["id"] === ids["inner"]);
  assert.equal((inner?.["trace"] as { parent_span_id: string }).parent_span_id, spanEvent);
  assert.equal((inner?.["trace"] as { trace_id: string }).trace_id, (ok["trace"] as { trace_id: string }).trace_id);
  // The error's type is in clear; its text (which echoes a card number) is committed.
  const attrs = failed["attributes"] as Record<string, unknown>;
  assert.equal(attrs["error.type"], "TypeError");
  assert.ok(checkCommitment("card 4111 1111 1111 1111 declined", attrs["error.message"] as { commitment: string }, KEY));
  // Ids, trace ids and commitments are random hex, which holds "4111" about once in a few
  // hundred runs: look for the card's digit groups instead, in any usual spacing.
  assert.doesNotMatch(JSON.stringify(failed), /4111[ -]?1111|declined/);
  const ov = evs.find((e) => e["id"] === ids["oversight"]);
  assert.deepEqual((ov?.["context"] as { oversight: unknown }).oversight, { reviewer: "alice", decision: "approved", target: ids["call"] });
  const flag = evs.find((e) => e["id"] === ids["flag"]);
  assert.equal(flag?.["status"], "blocked");
  assert.deepEqual(flag?.["context"], { decision: { outcome: "blocked", reason_codes: ["pii_detected"] } });
});

test("captured content is redacted before it leaves the process", async () => {
  const log = client({ captureContent: true, redact: true });
  const id = log.record("llm_call", { input: "mail bob@example.com", output: "ok" });
  assert.ok(await log.flush(30_000));
  await log.close();
  const ev = (await settled([id])).get(id);
  assert.deepEqual(ev?.["input"], { content: "mail [email]", redacted: ["email"] });
  assert.deepEqual(ev?.["output"], { content: "ok" });
});

test("misuse is counted, not thrown, and bad options throw where they are written", async () => {
  const log = client();
  assert.equal(log.record("not an action"), "");
  assert.equal(log.record("llm_call", { status: "weird" }), "");
  assert.equal(log.stats().invalid, 2);
  await log.close();
  assert.throws(() => client({ batchSize: 0 }), /^RangeError: batchSize must be at least 1; got 0$/);
  assert.throws(() => client({ flushIntervalMs: Number.NaN }), /^TypeError: flushIntervalMs must be a number greater than 0/);
  assert.throws(() => client({ url: "ftp://x" }), /^Error: bad Sealog URL/);
});

test("recordSync with wait checkpoint returns a receipt that verifies offline", async () => {
  const log = client();
  const r = await log.recordSync("decision", { wait: "checkpoint", input: "approve loan?" });
  assert.equal(r.status, "accepted");
  const { vkey } = await server.info();
  const v = await r.verify(vkey);
  assert.equal(v.entry.event["id"], r.id);
  assert.equal(v.checkpoint.origin, vkey.split("+")[0]);
  await log.close();
});

test("recordSync: the same event again is a duplicate, other content under its id a conflict", async () => {
  const log = client();
  const ts = "2026-12-07T10:00:00Z";
  const r = await log.recordSync("decision", { ts, attributes: { x: 1 } });
  assert.equal(r.status, "accepted");
  const again = await log.recordSync("decision", { id: r.id, ts, attributes: { x: 1 } });
  assert.equal(again.status, "duplicate");
  assert.equal(again.index, r.index);
  // Nothing of this request is stored (the server answers 422 with the result): a conflict.
  const other = await log.recordSync("decision", { id: r.id, ts, attributes: { x: 2 } });
  assert.equal(other.status, "conflict");
  assert.equal(other.index, r.index);
  await log.close();
});

test("SIGKILL of the server mid-burst: 5,000 events arrive exactly once, each with a verifying receipt", async () => {
  const n = 5000;
  const log = client({ spillAfterMs: 300, backoffMaxMs: 500 });
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    ids.push(log.record("tool_call", { attributes: { i } }));
    if (i === 1250) await server.stop(true);
    if (i % 500 === 0) await new Promise((r) => setTimeout(r, 10));
  }
  await new Promise((r) => setTimeout(r, 800));
  await server.start();
  assert.ok(await log.flush(120_000), JSON.stringify(log.stats()));
  const st = log.stats();
  await log.close();
  assert.deepEqual([st.lost, st.rejected, st.invalid], [0, 0, 0]);
  assert.ok(st.spooled > 0 && st.replayed > 0, JSON.stringify(st)); // the outage was ridden out
  assert.ok(st.sent >= n, JSON.stringify(st));
  await settled(ids);
  const logged = (await server.events()).filter((e) => (e["agent"] as { id: string }).id === "ts-test" && e["action"] === "tool_call" && typeof (e["attributes"] as { i?: number } | undefined)?.i === "number");
  const loggedIds = logged.map((e) => e["id"] as string);
  assert.equal(new Set(loggedIds).size, loggedIds.length, "an event is in the log twice");
  const mine = new Set(ids);
  const ofThisTest = logged.filter((e) => mine.has(e["id"] as string));
  assert.equal(ofThisTest.length, n, "events missing from the log");
  for (const e of ofThisTest) assert.equal(ids[(e["attributes"] as { i: number }).i], e["id"]);
  const { vkey } = await server.info();
  const proofs = [...ids];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let id = proofs.pop(); id !== undefined; id = proofs.pop()) {
        const v = await readClient().getReceipt(id).then((r) => r.verify(vkey));
        assert.equal(v.entry.event["id"], id);
      }
    }),
  );
});

let reader: Sealog | undefined;
function readClient(): Sealog {
  reader ??= new Sealog({ url: server.url, apiKey: server.readKey, commitmentKey: KEY, spoolDir: tempDir() });
  return reader;
}

test("a spool left by a process killed with SIGKILL is replayed by the next one", async () => {
  const n = 2000;
  const spoolDir = tempDir();
  await server.stop();
  const child = spawn(process.execPath, [join(import.meta.dirname, "spool-child.js"), server.url, server.ingestKey, KEY, spoolDir, String(n)], { stdio: ["ignore", "pipe", "inherit"] });
  const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout }).once("line", resolve));
  const ids = JSON.parse(line) as string[];
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGKILL"); // no beforeExit, no flush
  await exited;
  await server.start();
  const log = client({ spoolDir });
  await settled(ids);
  assert.ok(await log.flush(30_000));
  assert.ok(log.stats().replayed >= n, JSON.stringify(log.stats()));
  await log.close();
});

test("a spool segment belongs to the key that wrote it: another key never sends it", async () => {
  const spoolDir = tempDir();
  const otherKey = await server.createKey("ingest");
  await server.stop();
  const offline = client({ spoolDir, spillAfterMs: 100, backoffMaxMs: 200 });
  const ids = [0, 1, 2].map((i) => offline.record("tool_call", { attributes: { i } }));
  assert.equal(await offline.flush(1500), false, "the server is down: the events wait in the spool");
  await offline.close(1000);
  await server.start();
  const other = client({ spoolDir, apiKey: otherKey });
  assert.ok(await other.flush(5000));
  await other.close();
  assert.equal((await byId(ids)).size, 0, "another key's client sent none of them");
  const owner = client({ spoolDir });
  await settled(ids);
  await owner.close();
});

test("an outage is warned about once, with where the events wait, and so is the recovery", async () => {
  const spoolDir = tempDir();
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => void warnings.push(args.map(String).join(" "));
  try {
    await server.stop();
    const log = client({ spoolDir, spillAfterMs: 100, backoffMaxMs: 200 });
    const ids = [0, 1, 2, 3].map((i) => log.record("tool_call", { attributes: { i } }));
    assert.equal(await log.flush(1500), false);
    const down = warnings.filter((w) => w.includes("cannot deliver events"));
    assert.equal(down.length, 1, warnings.join("\n"));
    assert.ok(down[0]?.includes(spoolDir) && down[0].includes("SEALOG_API_KEY"), down[0]);
    await server.start();
    assert.ok(await log.flush(30_000));
    await settled(ids);
    assert.equal(warnings.filter((w) => w.includes("works again")).length, 1, warnings.join("\n"));
    await log.close();
  } finally {
    console.warn = warn;
  }
});

test("a process that returns without flush or close delivers its events on beforeExit", async () => {
  const n = 500;
  const child = spawn(process.execPath, [join(import.meta.dirname, "exit-child.js"), server.url, server.ingestKey, KEY, tempDir(), String(n)], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  const code = await new Promise((r) => child.once("exit", r));
  assert.equal(code, 0);
  const ids = JSON.parse(out.trim()) as string[];
  assert.equal(ids.length, n);
  assert.equal((await settled(ids)).size, n);
});

test("a full spool counts the events it refuses and a gap event records them", async () => {
  await server.stop();
  const spoolDir = tempDir();
  const log = client({ spoolDir, spoolMaxBytes: 4000, spillAfterMs: 0, backoffBaseMs: 50, backoffMaxMs: 200 });
  for (let i = 0; i < 100; i++) log.record("x-filler", { attributes: { i, pad: "p".repeat(100) } });
  await waitFor(() => log.stats().lost > 0 && log.stats().spooled + log.stats().lost > 100, 20_000, "the spool to refuse events");
  const lost = log.stats().lost;
  await server.start();
  assert.ok(await log.flush(30_000), JSON.stringify(log.stats()));
  await log.close();
  let gaps: Record<string, unknown>[] = [];
  const total = (): number => gaps.reduce((sum, g) => sum + (g["attributes"] as { lost: number }).lost, 0);
  // Every loss is in a gap event; wait for the query index to show them all.
  await waitFor(async () => {
    gaps = (await server.events("action=gap")).filter((e) => (e["agent"] as { id: string }).id === "ts-test");
    return total() >= lost;
  }, 30_000, "the gap events");
  assert.equal(total(), lost);
  assert.equal((gaps[0]?.["attributes"] as { reason: string }).reason, "spool_full");
  await reader?.close();
});

test("a 429 with Retry-After holds the next attempt back at least that long, then all arrive", async () => {
  // A front that refuses the first batch as a busy server would, then passes requests through
  // to the real server unchanged.
  const arrivals: number[] = [];
  const front = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      arrivals.push(Date.now());
      if (arrivals.length === 1) {
        res.writeHead(429, { "retry-after": "1", "content-type": "application/json" }).end('{"error":{"code":"busy","message":"slow down"}}');
        return;
      }
      const headers: Record<string, string> = {};
      for (const h of ["authorization", "content-type", "content-encoding"]) if (typeof req.headers[h] === "string") headers[h] = req.headers[h];
      void fetch(server.url + (req.url ?? ""), { method: req.method ?? "POST", headers, body: Buffer.concat(chunks) }).then(async (r) => {
        res.writeHead(r.status, { "content-type": r.headers.get("content-type") ?? "application/json" }).end(await r.text());
      });
    });
  });
  await new Promise<void>((r) => front.listen(0, "127.0.0.1", r));
  const log = client({ url: `http://127.0.0.1:${(front.address() as AddressInfo).port}`, backoffBaseMs: 10, backoffMaxMs: 50 });
  const ids = Array.from({ length: 10 }, (_, i) => log.record("x-busy", { attributes: { i } }));
  assert.ok(await log.flush(30_000), JSON.stringify(log.stats()));
  const st = log.stats();
  await log.close();
  await new Promise((r) => front.close(r));
  assert.ok(st.retried >= 1, JSON.stringify(st));
  assert.ok(arrivals.length >= 2);
  // Backoff alone would wait at most 50 ms; the server asked for a second.
  assert.ok((arrivals[1] ?? 0) - (arrivals[0] ?? 0) >= 1000, `retried after ${(arrivals[1] ?? 0) - (arrivals[0] ?? 0)} ms`);
  assert.equal((await settled(ids)).size, 10);
});
