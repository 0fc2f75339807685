/**
 * `record()` caller cost and delivered events/s of one process, for this SDK and the Python
 * SDK in the same run, against one real `sealog serve` ($SEALOG_BIN, started here).
 *
 *   SEALOG_BIN=… node dist/bench/record.js [--calls 50000] [--events 100000] [--python …/python]
 *
 * The same workload for both (record_py.py mirrors this file): each timed call is one
 * `record()`, timed alone with the monotonic clock; the queue is flushed, untimed, every
 * 10,000 calls, so the delivery loop does its real work while calls are timed. Delivered
 * events/s is the time from the first `record()` of a burst to the end of `flush()`.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Sealog } from "../src/index.js";
import { SealogServer, tempDir } from "../test/server.js";

const KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const FLUSH_EVERY = 10_000;

/** Median and p99 of per-call times in microseconds. */
interface Cost {
  median_us: number;
  p99_us: number;
}

/** What one SDK measured. */
export interface Result {
  sdk: string;
  bare: Cost;
  committed: Cost;
  events_per_s: number;
  /** Events that went through the spool on the way (the queue reached `maxQueue`). */
  spooled: number;
  lost: number;
}

function quantiles(ns: number[]): Cost {
  const s = [...ns].sort((a, b) => a - b);
  const at = (q: number): number => Math.round((s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0) / 10) / 100;
  return { median_us: at(0.5), p99_us: at(0.99) };
}

async function callCost(log: Sealog, calls: number, committed: boolean): Promise<Cost> {
  const times: number[] = [];
  const model = { id: "gpt-4o", provider: "openai" };
  for (let i = 0; i < calls; i++) {
    const t0 = process.hrtime.bigint();
    if (committed) log.record("llm_call", { input: "What is the balance of account A1?", output: "The balance is 42.", model });
    else log.record("llm_call");
    times.push(Number(process.hrtime.bigint() - t0));
    if ((i + 1) % FLUSH_EVERY === 0) await log.flush(120_000);
  }
  return quantiles(times);
}

async function delivered(log: Sealog, events: number): Promise<number> {
  const model = { id: "gpt-4o", provider: "openai" };
  const t0 = performance.now();
  for (let i = 0; i < events; i++) {
    log.record("llm_call", { input: "What is the balance of account A1?", output: "The balance is 42.", model });
    // Let the delivery loop run as a real program would between calls.
    if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
  }
  if (!(await log.flush(600_000))) throw new Error("flush did not finish");
  return Math.round(events / ((performance.now() - t0) / 1000));
}

async function measure(url: string, apiKey: string, calls: number, events: number): Promise<Result> {
  const log = new Sealog({ url, apiKey, commitmentKey: KEY, spoolDir: tempDir(), agent: "bench-ts" });
  const bare = await callCost(log, calls, false);
  const committed = await callCost(log, calls, true);
  const eps = await delivered(log, events);
  const st = log.stats();
  await log.close();
  return { sdk: `TypeScript (Node ${process.version})`, bare, committed, events_per_s: eps, spooled: st.spooled, lost: st.lost + st.rejected };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { calls: { type: "string", default: "50000" }, events: { type: "string", default: "100000" }, python: { type: "string", default: fileURLToPath(new URL("../../../../.venv/bin/python", import.meta.url)) } } });
  const calls = Number(values.calls);
  const events = Number(values.events);
  const server = new SealogServer();
  await server.start();
  try {
    const ts = await measure(server.url, server.ingestKey, calls, events);
    const script = fileURLToPath(new URL("../../bench/record_py.py", import.meta.url));
    const py = spawnSync(values.python, [script, server.url, server.ingestKey, KEY, String(calls), String(events)], { encoding: "utf8", maxBuffer: 1 << 20 });
    if (py.status !== 0) throw new Error(`record_py.py failed: ${py.stderr}`);
    const results = [ts, JSON.parse(py.stdout.trim().split("\n").at(-1) ?? "{}") as Result];
    console.log("| SDK | `record()` bare, median (p99) | `record()` with input, output and a model block, median (p99) | delivered events/s | of which via the spool | lost or rejected |");
    console.log("|---|---|---|---|---|---|");
    for (const r of results) {
      console.log(`| ${r.sdk} | ${r.bare.median_us} µs (${r.bare.p99_us}) | ${r.committed.median_us} µs (${r.committed.p99_us}) | ${r.events_per_s.toLocaleString("en")} | ${r.spooled.toLocaleString("en")} | ${r.lost} |`);
    }
  } finally {
    await server.stop();
  }
}

await main();
