/**
 * A local fake model server speaking the OpenAI chat-completions and Anthropic messages wire
 * formats (JSON and server-sent events), for the integration tests. A request whose last
 * message says "fail" gets a 400 whose error text echoes the message, as real APIs often do.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

type Json = Record<string, unknown>;

/** The reply the fake models give. */
export const REPLY = ["The balance ", "is 42."];

function lastText(body: Json): string {
  const msgs = (body["messages"] as { content: unknown }[] | undefined) ?? [];
  const c = msgs.at(-1)?.content;
  return typeof c === "string" ? c : JSON.stringify(c);
}

function sse(res: ServerResponse, events: Json[], named: boolean): void {
  res.writeHead(200, { "content-type": "text/event-stream" });
  for (const e of events) res.write(`${named ? `event: ${String(e["type"])}\n` : ""}data: ${JSON.stringify(e)}\n\n`);
  if (!named) res.write("data: [DONE]\n\n");
  res.end();
}

function openai(body: Json, res: ServerResponse): void {
  const model = String(body["model"]);
  const tool = Array.isArray(body["tools"]) && body["tools"].length > 0;
  const toolCalls = tool ? [{ index: 0, id: "call_1", type: "function", function: { name: "get_balance", arguments: '{"account":"A1"}' } }] : undefined;
  const usage = { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 };
  const base = { id: "chatcmpl-1", object: "chat.completion", created: 1_700_000_000, model };
  if (body["stream"] === true) {
    const chunks: Json[] = REPLY.map((t, i) => ({ ...base, object: "chat.completion.chunk", choices: [{ index: 0, delta: i === 0 ? { role: "assistant", content: t } : { content: t }, finish_reason: null }] }));
    chunks.push({ ...base, object: "chat.completion.chunk", choices: [{ index: 0, delta: {}, finish_reason: "stop" }] });
    chunks.push({ ...base, object: "chat.completion.chunk", choices: [], usage });
    return sse(res, chunks, false);
  }
  const message = { role: "assistant", content: tool ? null : REPLY.join(""), ...(toolCalls ? { tool_calls: toolCalls } : {}) };
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ ...base, choices: [{ index: 0, message, finish_reason: tool ? "tool_calls" : "stop" }], usage }));
}

function anthropic(body: Json, res: ServerResponse): void {
  const model = String(body["model"]);
  const tool = Array.isArray(body["tools"]) && body["tools"].length > 0;
  const message = { id: "msg_1", type: "message", role: "assistant", model, stop_reason: tool ? "tool_use" : "end_turn", stop_sequence: null };
  if (body["stream"] === true) {
    const events: Json[] = [
      { type: "message_start", message: { ...message, content: [], stop_reason: null, usage: { input_tokens: 13, output_tokens: 1 } } },
      { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
      ...REPLY.map((t) => ({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: t } })),
      { type: "content_block_stop", index: 0 },
      { type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 9 } },
      { type: "message_stop" },
    ];
    return sse(res, events, true);
  }
  const content = tool ? [{ type: "tool_use", id: "toolu_1", name: "get_balance", input: { account: "A1" } }] : [{ type: "text", text: REPLY.join("") }];
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ ...message, content, usage: { input_tokens: 13, output_tokens: 9 } }));
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as Json;
  const text = lastText(body);
  if (text.includes("fail")) {
    res.writeHead(400, { "content-type": "application/json" });
    const type = req.url?.includes("/messages") ? "invalid_request_error" : "invalid_request_error";
    res.end(JSON.stringify({ type: "error", error: { type, message: `cannot answer: ${text}` } }));
    return;
  }
  if (req.url?.endsWith("/chat/completions")) return openai(body, res);
  if (req.url?.endsWith("/messages")) return anthropic(body, res);
  res.writeHead(404).end();
}

/** Start the fake model server on a free port; returns it and its base URL. */
export async function startFakeModels(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}
