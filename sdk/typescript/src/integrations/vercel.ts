/**
 * The Vercel AI SDK: a language-model middleware recording every `generateText` /
 * `streamText` call as an `llm_call` (model, tokens, latency, tool calls), with commitments
 * unless content is captured. No dependency on `ai`: the middleware is a plain object.
 *
 * ```ts
 * const model = wrapLanguageModel({ model: openai("gpt-4o"), middleware: sealogMiddleware(log) });
 * ```
 */
import type { Sealog } from "../client.js";
import { recordModelCall, type ModelCall } from "./common.js";

interface ModelInfo {
  modelId: string;
  provider: string;
}
interface Usage {
  promptTokens?: number;
  completionTokens?: number;
}
interface ToolCall {
  toolCallId?: string | undefined;
  toolName?: string | undefined;
  args?: unknown;
}
interface GenerateResult {
  text?: string;
  toolCalls?: ToolCall[];
  finishReason?: string;
  usage?: Usage;
}
interface StreamPart {
  type: string;
  textDelta?: string;
  toolCallId?: string;
  toolName?: string;
  args?: unknown;
  finishReason?: string;
  usage?: Usage;
  error?: unknown;
}

/** The shape of the AI SDK's `LanguageModelV1Middleware` this module fills in. */
export interface SealogMiddleware {
  wrapGenerate: <R extends GenerateResult>(o: { doGenerate: () => PromiseLike<R>; params: { prompt?: unknown }; model: ModelInfo }) => Promise<R>;
  wrapStream: <R extends { stream: ReadableStream<StreamPart> }>(o: { doStream: () => PromiseLike<R>; params: { prompt?: unknown }; model: ModelInfo }) => Promise<R>;
}

function base(model: ModelInfo, prompt: unknown, t0: number): Omit<ModelCall, "latencyMs"> & { t0: number } {
  return { provider: model.provider, model: model.modelId, input: prompt, t0 };
}

function failure(e: unknown): NonNullable<ModelCall["error"]> {
  const err = e instanceof Error ? e : new Error(String(e));
  const status = (err as { statusCode?: unknown }).statusCode;
  return { type: err.name, status: typeof status === "number" ? status : undefined, message: err.message };
}

function record(log: Sealog, b: ReturnType<typeof base>, more: Partial<ModelCall>): void {
  const { t0, ...call } = b;
  recordModelCall(log, { ...call, ...more, latencyMs: performance.now() - t0 });
}

/** A language-model middleware recording each call into `log`. */
export function sealogMiddleware(log: Sealog): SealogMiddleware {
  return {
    async wrapGenerate({ doGenerate, params, model }) {
      const b = base(model, params.prompt, performance.now());
      try {
        const r = await doGenerate();
        const toolCalls = (r.toolCalls ?? []).map((t) => ({ id: t.toolCallId, name: t.toolName }));
        record(log, b, { output: { text: r.text ?? "", tool_calls: r.toolCalls ?? [] }, inputTokens: r.usage?.promptTokens, outputTokens: r.usage?.completionTokens, finishReason: r.finishReason, toolCalls });
        return r;
      } catch (e) {
        record(log, b, { error: failure(e) });
        throw e;
      }
    },
    async wrapStream({ doStream, params, model }) {
      const b = base(model, params.prompt, performance.now());
      const r = await doStream().then(
        (x) => x,
        (e: unknown) => {
          record(log, b, { error: failure(e) });
          throw e;
        },
      );
      const text: string[] = [];
      const calls: ToolCall[] = [];
      const seen: Partial<ModelCall> = { stream: true };
      const watch = new TransformStream<StreamPart, StreamPart>({
        transform(part, ctl) {
          if (part.type === "text-delta") text.push(part.textDelta ?? "");
          if (part.type === "tool-call") calls.push({ toolCallId: part.toolCallId, toolName: part.toolName, args: part.args });
          if (part.type === "finish") Object.assign(seen, { finishReason: part.finishReason, inputTokens: part.usage?.promptTokens, outputTokens: part.usage?.completionTokens });
          if (part.type === "error") seen.error = failure(part.error);
          ctl.enqueue(part);
        },
        flush() {
          record(log, b, { ...seen, output: { text: text.join(""), tool_calls: calls }, toolCalls: calls.map((t) => ({ id: t.toolCallId, name: t.toolName })) });
        },
      });
      return { ...r, stream: r.stream.pipeThrough(watch) };
    },
  };
}
