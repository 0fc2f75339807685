/**
 * The OpenAI and Anthropic Node clients: both take a `fetch` option, so one recording `fetch`
 * covers every method of both (plain and streaming responses), without patching the clients.
 *
 * ```ts
 * const openai = new OpenAI({ fetch: recordingFetch(log, "openai") });
 * const anthropic = new Anthropic({ fetch: recordingFetch(log, "anthropic") });
 * ```
 */
import type { Sealog } from "../client.js";
import { recordModelCall, type ModelCall } from "./common.js";

/** The providers whose wire formats are understood. */
export type Provider = "openai" | "anthropic";

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Json) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);

/**
 * A `fetch` as the clients call it. Input and init are taken as `unknown` because each client
 * types its own (OpenAI v4 uses node-fetch's types); both are passed on as given.
 */
export type RecordingFetch = (input: unknown, init?: unknown) => Promise<Response>;

/** A `fetch` that records each model call made through it as an `llm_call`. */
export function recordingFetch(log: Sealog, provider: Provider, base: typeof fetch = globalThis.fetch): RecordingFetch {
  return async (input, rawInit) => {
    const t0 = performance.now();
    const init = rawInit as RequestInit | undefined;
    const req = requestBody(init?.body);
    const res = await base(input as Parameters<typeof fetch>[0], init);
    const call = { provider, model: str(req["model"]), input: requestInput(provider, req), stream: req["stream"] === true };
    const latency = (): number => performance.now() - t0;
    if (!res.ok) {
      void res.clone().text().then((text) => recordModelCall(log, { ...call, latencyMs: latency(), error: httpError(res.status, text) }));
      return res;
    }
    const streaming = (res.headers.get("content-type") ?? "").includes("text/event-stream");
    if (streaming && res.body !== null) {
      const [mine, theirs] = res.body.tee();
      void readSse(mine).then(
        (events) => recordModelCall(log, { ...call, ...parseStream(provider, events), latencyMs: latency() }),
        (e: unknown) => recordModelCall(log, { ...call, latencyMs: latency(), error: { type: e instanceof Error ? e.name : "Error", message: String(e) } }),
      );
      return new Response(theirs, { status: res.status, statusText: res.statusText, headers: res.headers });
    }
    void res.clone().json().then(
      (body: unknown) => recordModelCall(log, { ...call, ...parseResponse(provider, obj(body)), latencyMs: latency() }),
      () => recordModelCall(log, { ...call, latencyMs: latency() }),
    );
    return res;
  };
}

function requestBody(body: unknown): Json {
  if (typeof body !== "string") return {};
  try {
    return obj(JSON.parse(body));
  } catch {
    return {};
  }
}

function requestInput(provider: Provider, req: Json): unknown {
  if (provider === "anthropic") return req["system"] === undefined ? { messages: req["messages"] } : { system: req["system"], messages: req["messages"] };
  return req["messages"] ?? req["input"] ?? req["prompt"];
}

function httpError(status: number, text: string): NonNullable<ModelCall["error"]> {
  const e = obj(obj(parseOr(text))["error"]);
  return { type: str(e["type"]) ?? str(e["code"]) ?? "http_error", status, message: str(e["message"]) ?? text };
}

function parseOr(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

async function readSse(stream: ReadableStream<Uint8Array>): Promise<Json[]> {
  const events: Json[] = [];
  const decoder = new TextDecoder();
  let buf = "";
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl).replace(/\r$/, "");
      buf = buf.slice(nl + 1);
      if (line.startsWith("data:")) {
        const data = line.slice(5).trim();
        if (data !== "[DONE]") events.push(obj(parseOr(data)));
      }
    }
  }
  return events;
}

type Parsed = Pick<ModelCall, "model" | "output" | "inputTokens" | "outputTokens" | "finishReason" | "toolCalls">;

function parseResponse(provider: Provider, body: Json): Parsed {
  return provider === "anthropic" ? parseStream("anthropic", [{ type: "message_start", message: body }, ...arr(body["content"]).map((b) => ({ type: "content_block_start", content_block: b }))]) : parseStream("openai", [body]);
}

/** What a stream of chunks (or one whole response, as one chunk) says about the call. */
function parseStream(provider: Provider, events: Json[]): Parsed {
  return provider === "anthropic" ? anthropicEvents(events) : openaiChunks(events);
}

function openaiChunks(chunks: Json[]): Parsed {
  const out: Parsed = {};
  const text: string[] = [];
  const calls = new Map<number, { id?: string | undefined; name?: string | undefined }>();
  for (const ch of chunks) {
    out.model = str(ch["model"]) ?? out.model;
    const usage = obj(ch["usage"]);
    out.inputTokens = num(usage["prompt_tokens"]) ?? out.inputTokens;
    out.outputTokens = num(usage["completion_tokens"]) ?? out.outputTokens;
    for (const choice of arr(ch["choices"]).map(obj)) {
      const part = obj(choice["delta"] ?? choice["message"]);
      if (typeof part["content"] === "string") text.push(part["content"]);
      arr(part["tool_calls"]).map(obj).forEach((tc, i) => {
        const slot = calls.get(num(tc["index"]) ?? i) ?? {};
        slot.id = str(tc["id"]) ?? slot.id;
        slot.name = str(obj(tc["function"])["name"]) ?? slot.name;
        calls.set(num(tc["index"]) ?? i, slot);
      });
      out.finishReason = str(choice["finish_reason"]) ?? out.finishReason;
    }
  }
  out.output = text.join("");
  out.toolCalls = [...calls.entries()].sort(([a], [b]) => a - b).map(([, c]) => c);
  return out;
}

function anthropicEvents(events: Json[]): Parsed {
  const out: Parsed = { toolCalls: [] };
  const text: string[] = [];
  for (const ev of events) {
    const msg = obj(ev["message"]);
    const usage = obj(ev["usage"] ?? msg["usage"]);
    out.model = str(msg["model"]) ?? out.model;
    out.inputTokens = num(usage["input_tokens"]) ?? out.inputTokens;
    out.outputTokens = num(usage["output_tokens"]) ?? out.outputTokens;
    out.finishReason = str(obj(ev["delta"])["stop_reason"]) ?? str(msg["stop_reason"]) ?? out.finishReason;
    const block = obj(ev["content_block"]);
    if (block["type"] === "text" && typeof block["text"] === "string") text.push(block["text"]);
    if (block["type"] === "tool_use") out.toolCalls?.push({ id: str(block["id"]), name: str(block["name"]) });
    const delta = obj(ev["delta"]);
    if (delta["type"] === "text_delta" && typeof delta["text"] === "string") text.push(delta["text"]);
  }
  out.output = text.join("");
  return out;
}
