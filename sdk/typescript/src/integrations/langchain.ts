/**
 * A LangChain.js callback handler: each chat model / LLM run becomes an `llm_call` and each
 * tool run a `tool_call`, with commitments unless content is captured. It has no dependency
 * on `@langchain/core`: LangChain accepts any object with the handler methods.
 *
 * ```ts
 * await chain.invoke(input, { callbacks: [new SealogCallbackHandler(log)] });
 * ```
 */
import type { Sealog } from "../client.js";
import { errorText } from "../client.js";
import { recordModelCall } from "./common.js";

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (typeof v === "object" && v !== null ? (v as Json) : {});
const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);

interface Run {
  t0: number;
  kind: "llm" | "tool";
  name: string | undefined;
  input: unknown;
  model: string | undefined;
}

/** Records LangChain runs into a Sealog log. */
export class SealogCallbackHandler {
  /** The handler's name, as LangChain lists it. */
  readonly name = "sealog";
  private readonly runs = new Map<string, Run>();

  /** A handler recording into `log`. */
  constructor(readonly log: Sealog) {}

  /** A chat model run began. */
  handleChatModelStart(llm: unknown, messages: unknown[][], runId: string, _parent?: string, extra?: Json): void {
    this.begin(runId, "llm", llm, messages.map((batch) => batch.map(messageJson)), extra);
  }

  /** A text LLM run began. */
  handleLLMStart(llm: unknown, prompts: string[], runId: string, _parent?: string, extra?: Json): void {
    this.begin(runId, "llm", llm, prompts, extra);
  }

  /** An LLM run ended: its generations, tokens and finish reason. */
  handleLLMEnd(output: unknown, runId: string): void {
    const run = this.take(runId);
    if (run === undefined) return;
    const gens = (obj(output)["generations"] as unknown[][] | undefined) ?? [];
    const first = obj(gens[0]?.[0]);
    const message = obj(first["message"]);
    const usage = obj(message["usage_metadata"]);
    const tokenUsage = obj(obj(obj(output)["llmOutput"])["tokenUsage"]);
    const toolCalls = ((message["tool_calls"] as Json[] | undefined) ?? []).map((tc) => ({ id: tc["id"] as string | undefined, name: tc["name"] as string | undefined }));
    recordModelCall(this.log, {
      provider: "langchain",
      model: run.model,
      input: run.input,
      output: gens.map((g) => g.map((x) => obj(x)["text"])),
      inputTokens: num(usage["input_tokens"]) ?? num(tokenUsage["promptTokens"]),
      outputTokens: num(usage["output_tokens"]) ?? num(tokenUsage["completionTokens"]),
      finishReason: obj(first["generationInfo"])["finish_reason"] as string | undefined,
      toolCalls,
      latencyMs: performance.now() - run.t0,
      attributes: run.name === undefined ? {} : { "langchain.class": run.name },
    });
  }

  /** An LLM run failed: the type in clear, the text as content. */
  handleLLMError(err: unknown, runId: string): void {
    const run = this.take(runId);
    if (run === undefined) return;
    const e = err instanceof Error ? err : new Error(String(err));
    recordModelCall(this.log, { provider: "langchain", model: run.model, input: run.input, latencyMs: performance.now() - run.t0, error: { type: e.name, status: num(obj(e)["status"]), message: e.message } });
  }

  /** A tool run began. */
  handleToolStart(tool: unknown, input: string, runId: string): void {
    this.begin(runId, "tool", tool, input, undefined);
  }

  /** A tool run ended. */
  handleToolEnd(output: unknown, runId: string): void {
    const run = this.take(runId);
    if (run !== undefined) this.tool(run, "ok", { output: toolOutput(output) });
  }

  /** A tool run failed. */
  handleToolError(err: unknown, runId: string): void {
    const run = this.take(runId);
    if (run === undefined) return;
    const e = err instanceof Error ? err : new Error(String(err));
    this.tool(run, "error", { attributes: { "error.type": e.name, "error.message": errorText(this.log, e.message.slice(0, 1000), {}) } });
  }

  private tool(run: Run, status: string, more: { output?: unknown; attributes?: Json }): void {
    this.log.record("tool_call", {
      input: run.input,
      status,
      tool: { name: run.name ?? "tool" },
      metrics: { latency_ms: Math.round((performance.now() - run.t0) * 1000) / 1000 },
      ...more,
    });
  }

  private begin(runId: string, kind: Run["kind"], serialized: unknown, input: unknown, extra: Json | undefined): void {
    const s = obj(serialized);
    const ids = (s["id"] as string[] | undefined) ?? [];
    const params = obj(obj(extra)["invocation_params"]);
    const model = (params["model"] ?? params["model_name"] ?? obj(s["kwargs"])["model"]) as string | undefined;
    this.runs.set(runId, { t0: performance.now(), kind, name: (s["name"] as string | undefined) ?? ids.at(-1), input, model });
  }

  private take(runId: string): Run | undefined {
    const run = this.runs.get(runId);
    this.runs.delete(runId);
    return run;
  }
}

function messageJson(m: unknown): unknown {
  const o = obj(m);
  const type = typeof o["_getType"] === "function" ? (o["_getType"] as () => string).call(m) : o["type"];
  return { role: type, content: o["content"] };
}

function toolOutput(o: unknown): unknown {
  const content = obj(o)["content"];
  return content === undefined ? o : content;
}
