/** What every integration records for one model call: an `llm_call` with commitments. */
import type { Sealog } from "../client.js";
import { errorText } from "../client.js";

/** One model call, as an integration saw it. */
export interface ModelCall {
  provider: string;
  model?: string | undefined;
  /** The request's messages (committed unless content is captured). */
  input: unknown;
  /** The text (and tool calls) that came back, when the call succeeded. */
  output?: unknown;
  inputTokens?: number | undefined;
  outputTokens?: number | undefined;
  finishReason?: string | undefined;
  /** Tool calls the model asked for: their ids and names (arguments are in `output`). */
  toolCalls?: { id?: string | undefined; name?: string | undefined }[];
  stream?: boolean;
  latencyMs: number;
  /** The failure, if any: its type and HTTP status in clear, its text as content. */
  error?: { type: string; status?: number | undefined; message: string };
  attributes?: Record<string, unknown>;
}

/** Record one model call; returns the event id ("" for misuse, never throws). */
export function recordModelCall(log: Sealog, c: ModelCall): string {
  const attributes: Record<string, unknown> = { ...c.attributes };
  if (c.finishReason !== undefined) attributes["finish_reason"] = c.finishReason;
  if (c.toolCalls !== undefined && c.toolCalls.length > 0) attributes["tool_calls"] = c.toolCalls;
  if (c.stream) attributes["stream"] = true;
  if (c.error !== undefined) {
    attributes["error.type"] = c.error.type;
    if (c.error.status !== undefined) attributes["http.status"] = c.error.status;
    attributes["error.message"] = errorText(log, c.error.message.slice(0, 1000), {});
  }
  const metrics: Record<string, number> = { latency_ms: Math.round(c.latencyMs * 1000) / 1000 };
  if (c.inputTokens !== undefined) metrics["input_tokens"] = c.inputTokens;
  if (c.outputTokens !== undefined) metrics["output_tokens"] = c.outputTokens;
  const model: Record<string, string> = { provider: c.provider };
  if (c.model !== undefined) model["id"] = c.model;
  return log.record("llm_call", {
    input: c.input,
    ...(c.output === undefined ? {} : { output: c.output }),
    status: c.error === undefined ? "ok" : "error",
    model,
    metrics,
    attributes,
  });
}
