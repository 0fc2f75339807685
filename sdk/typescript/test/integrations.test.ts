/**
 * The integrations with the real npm packages (openai, @anthropic-ai/sdk, @langchain/openai,
 * ai + @ai-sdk/openai) against a local fake model server, recording into the real binary.
 */
// The web fetch types, which Node 20 has (openai v4 otherwise types its `fetch` option with node-fetch).
import "openai/shims/web";
import assert from "node:assert/strict";
import type { Server } from "node:http";
import { after, before, test } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import { createOpenAI } from "@ai-sdk/openai";
import { ChatOpenAI } from "@langchain/openai";
import { generateText, streamText, wrapLanguageModel } from "ai";
import OpenAI from "openai";
import { checkCommitment, recordingFetch, Sealog, SealogCallbackHandler, sealogMiddleware } from "../src/index.js";
import { REPLY, startFakeModels } from "./fake-models.js";
import { SealogServer, tempDir, waitFor } from "./server.js";

const KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const sealog = new SealogServer();
let models: { server: Server; url: string };
let agents = 0;

before(async () => {
  await sealog.start();
  models = await startFakeModels();
});
after(async () => {
  await sealog.stop();
  await new Promise((r) => models.server.close(r));
});

/** A client with an agent id of its own, and a way to read back what it recorded. */
function recorder(opts: { captureContent?: boolean } = {}): { log: Sealog; events: (n: number) => Promise<Record<string, unknown>[]> } {
  const agent = `ts-integration-${process.pid}-${++agents}`;
  const log = new Sealog({ url: sealog.url, apiKey: sealog.ingestKey, commitmentKey: KEY, spoolDir: tempDir(), agent, ...opts });
  const events = async (n: number): Promise<Record<string, unknown>[]> => {
    assert.ok(await log.flush(30_000));
    let evs: Record<string, unknown>[] = [];
    await waitFor(async () => (evs = await sealog.events(`agent=${agent}`)).length >= n, 30_000, `${n} events of ${agent}`);
    assert.equal(evs.length, n);
    return evs.reverse(); // oldest first
  };
  return { log, events };
}

type Ev = Record<string, unknown>;
const ctx = (e: Ev | undefined): { model: Ev; metrics: Ev } => e?.["context"] as { model: Ev; metrics: Ev };
const attrs = (e: Ev | undefined): Ev => (e?.["attributes"] ?? {}) as Ev;
const MESSAGES = [{ role: "user" as const, content: "What is my balance?" }];
const TOOLS = [{ type: "function" as const, function: { name: "get_balance", parameters: { type: "object", properties: {} } } }];

test("OpenAI client: plain, tool-calling, streaming and failing calls, content committed", async () => {
  const { log, events } = recorder();
  const openai = new OpenAI({ apiKey: "sk-test", baseURL: `${models.url}/v1`, fetch: recordingFetch(log, "openai"), maxRetries: 0 });
  const plain = await openai.chat.completions.create({ model: "gpt-4o", messages: MESSAGES });
  assert.equal(plain.choices[0]?.message.content, REPLY.join(""));
  await openai.chat.completions.create({ model: "gpt-4o", messages: MESSAGES, tools: TOOLS });
  const stream = await openai.chat.completions.create({ model: "gpt-4o-mini", messages: MESSAGES, stream: true, stream_options: { include_usage: true } });
  let streamed = "";
  for await (const ch of stream) streamed += ch.choices[0]?.delta.content ?? "";
  assert.equal(streamed, REPLY.join(""));
  await assert.rejects(openai.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "please fail, my card is 4111" }] }), /400/);
  const [p, t, s, f] = await events(4);
  assert.deepEqual(ctx(p).model, { provider: "openai", id: "gpt-4o" });
  assert.deepEqual([ctx(p).metrics["input_tokens"], ctx(p).metrics["output_tokens"]], [11, 7]);
  assert.equal(typeof ctx(p).metrics["latency_ms"], "number");
  assert.ok(checkCommitment(MESSAGES, p?.["input"] as { commitment: string }, KEY));
  assert.ok(checkCommitment(REPLY.join(""), p?.["output"] as { commitment: string }, KEY));
  assert.ok(!JSON.stringify(p).includes("balance"));
  assert.deepEqual(attrs(t)["tool_calls"], [{ id: "call_1", name: "get_balance" }]);
  assert.equal(attrs(t)["finish_reason"], "tool_calls");
  assert.equal(attrs(s)["stream"], true);
  assert.deepEqual([ctx(s).model["id"], ctx(s).metrics["output_tokens"]], ["gpt-4o-mini", 7]);
  assert.ok(checkCommitment(REPLY.join(""), s?.["output"] as { commitment: string }, KEY));
  assert.equal(f?.["status"], "error");
  assert.deepEqual([attrs(f)["error.type"], attrs(f)["http.status"]], ["invalid_request_error", 400]);
  assert.ok(checkCommitment("cannot answer: please fail, my card is 4111", attrs(f)["error.message"] as { commitment: string }, KEY));
  // Not "4111" alone: ids and commitments are random hex, which holds it now and then.
  assert.doesNotMatch(JSON.stringify(f), /my card is|cannot answer/, "error text echoing the input is committed, not sent");
  await log.close();
});

test("Anthropic client: plain, tool use and streaming; content captured when opted in", async () => {
  const { log, events } = recorder({ captureContent: true });
  const anthropic = new Anthropic({ apiKey: "sk-ant-test", baseURL: models.url, fetch: recordingFetch(log, "anthropic"), maxRetries: 0 });
  const msg = await anthropic.messages.create({ model: "claude-sonnet-4-5", max_tokens: 100, messages: MESSAGES });
  assert.equal(msg.content[0]?.type, "text");
  await anthropic.messages.create({ model: "claude-sonnet-4-5", max_tokens: 100, messages: MESSAGES, tools: [{ name: "get_balance", input_schema: { type: "object" } }] });
  const text = await anthropic.messages.stream({ model: "claude-haiku-4-5", max_tokens: 100, messages: MESSAGES }).finalText();
  assert.equal(text, REPLY.join(""));
  const [p, t, s] = await events(3);
  assert.deepEqual(ctx(p).model, { provider: "anthropic", id: "claude-sonnet-4-5" });
  assert.deepEqual(p?.["input"], { content: { messages: MESSAGES } });
  assert.deepEqual(p?.["output"], { content: REPLY.join("") });
  assert.deepEqual(attrs(t)["tool_calls"], [{ id: "toolu_1", name: "get_balance" }]);
  assert.equal(attrs(t)["finish_reason"], "tool_use");
  assert.deepEqual([ctx(s).model["id"], ctx(s).metrics["input_tokens"], ctx(s).metrics["output_tokens"]], ["claude-haiku-4-5", 13, 9]);
  assert.deepEqual(s?.["output"], { content: REPLY.join("") });
  assert.equal(attrs(s)["finish_reason"], "end_turn");
  await log.close();
});

test("LangChain.js callback handler records chat model runs and their failures", async () => {
  const { log, events } = recorder();
  const chat = new ChatOpenAI({ model: "gpt-4o", apiKey: "sk-test", configuration: { baseURL: `${models.url}/v1` }, maxRetries: 0 });
  const handler = new SealogCallbackHandler(log);
  const out = await chat.invoke("What is my balance?", { callbacks: [handler] });
  assert.equal(out.content, REPLY.join(""));
  await assert.rejects(chat.invoke("please fail", { callbacks: [handler] }));
  const [ok, failed] = await events(2);
  assert.deepEqual(ctx(ok).model, { provider: "langchain", id: "gpt-4o" });
  assert.deepEqual([ctx(ok).metrics["input_tokens"], ctx(ok).metrics["output_tokens"]], [11, 7]);
  assert.ok(checkCommitment([[REPLY.join("")]], ok?.["output"] as { commitment: string }, KEY));
  assert.ok(!JSON.stringify(ok).includes("balance"));
  assert.equal(failed?.["status"], "error");
  assert.equal(attrs(failed)["http.status"], 400);
  assert.ok(!JSON.stringify(failed).includes("please fail"));
  await log.close();
});

test("Vercel AI SDK middleware records generateText and streamText", async () => {
  const { log, events } = recorder();
  const provider = createOpenAI({ apiKey: "sk-test", baseURL: `${models.url}/v1`, compatibility: "strict" });
  const model = wrapLanguageModel({ model: provider.chat("gpt-4o"), middleware: sealogMiddleware(log) });
  const g = await generateText({ model, prompt: "What is my balance?" });
  assert.equal(g.text, REPLY.join(""));
  const st = streamText({ model, prompt: "What is my balance?" });
  let streamed = "";
  for await (const t of st.textStream) streamed += t;
  assert.equal(streamed, REPLY.join(""));
  const [gen, str] = await events(2);
  assert.deepEqual(ctx(gen).model, { provider: "openai.chat", id: "gpt-4o" });
  assert.deepEqual([ctx(gen).metrics["input_tokens"], ctx(gen).metrics["output_tokens"]], [11, 7]);
  assert.ok(checkCommitment({ text: REPLY.join(""), tool_calls: [] }, gen?.["output"] as { commitment: string }, KEY));
  assert.equal(attrs(str)["stream"], true);
  assert.deepEqual([ctx(str).metrics["input_tokens"], ctx(str).metrics["output_tokens"]], [11, 7]);
  assert.ok(checkCommitment({ text: REPLY.join(""), tool_calls: [] }, str?.["output"] as { commitment: string }, KEY));
  assert.ok(!JSON.stringify([gen, str]).includes("balance"));
  await log.close();
});
