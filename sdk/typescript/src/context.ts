/** The typed context blocks an event may carry (spec/README.md §2, `context`). */

/** The model behind an `llm_call`. */
export interface ModelContext {
  id?: string;
  version?: string;
  provider?: string;
  type?: string;
  deployment?: string;
  params?: Record<string, unknown>;
  config_hash?: string;
}

/** The prompt template used. */
export interface PromptContext {
  name?: string;
  version?: string;
  hash?: string;
}

/** The tool a `tool_call` invoked. */
export interface ToolContext {
  name: string;
  call_id?: string;
  type?: string;
}

/** The policy that applied. */
export interface PolicyContext {
  name?: string;
  version?: string;
  hash?: string;
}

/** Where the data came from. */
export interface DataProvenance {
  sources?: string[];
  datasets?: string[];
  version?: string;
  lineage?: unknown;
}

/** One guardrail or evaluation check. */
export interface Check {
  name: string;
  version?: string;
  score?: number;
  threshold?: number;
  fired?: boolean;
  result?: string;
}

/** The outcome of a decision and why. */
export interface DecisionContext {
  outcome?: string;
  reason_codes?: string[];
}

/** A human sign-off, override or stop. */
export interface HumanOversight {
  reviewer?: string;
  decision?: "approved" | "rejected" | "overridden" | "stopped";
  required?: boolean;
  role?: string;
  reason?: string;
  /** The id of the event reviewed. */
  target?: string;
  reviewed_at?: string;
}

/** Latency, tokens, cost, confidence. */
export interface PerformanceMetrics {
  latency_ms?: number;
  input_tokens?: number;
  output_tokens?: number;
  cost?: number;
  confidence?: number;
  anomaly_flags?: string[];
}

/** The (pseudonymous) person the event is about. */
export interface Subject {
  pseudo_id: string;
  [extra: string]: unknown;
}

/** The `context` member of an event. */
export interface EventContext {
  model?: ModelContext;
  prompt?: PromptContext;
  tool?: ToolContext;
  policy?: PolicyContext;
  data?: DataProvenance;
  checks?: Check[];
  decision?: DecisionContext;
  oversight?: HumanOversight;
  metrics?: PerformanceMetrics;
  subject?: Subject;
}

/** The names of the context blocks that `record()` takes as options of their own. */
export const CONTEXT_BLOCKS = ["model", "prompt", "tool", "policy", "data", "checks", "decision", "oversight", "metrics", "subject"] as const;
