/** Sealog's TypeScript SDK: record what an AI agent does into a tamper-evident log. */
export { TIMEOUT_REVIEWER, type Approval, type ApprovalOptions } from "./approval.js";
export { canonicalJson, canonicalString, parseJsonStrict } from "./canonical.js";
export { asKey, checkCommitment, commit, commitBytes, payloadCommitment, COMMITMENT_PREFIX, type CommitmentKey, type CommitmentPayload } from "./commitments.js";
export type * from "./context.js";
export { DEFAULT_URL, Sealog, Session, Span, toJsonValue, type RecordOptions, type SealogOptions, type SpanOptions, type Stats, type SyncOptions, type TimeLike, type TraceIds } from "./client.js";
export { DeliveryError, EventRejected, type Rejection } from "./delivery.js";
export { Receipt, VerificationError, leafHash, parseCheckpoint, parseLogKey, parseTlogProof, verifyInclusion, verifyReceipt, verifySignedNote, type Checkpoint, type LogKey, type VerifiedReceipt } from "./receipt.js";
export { CATEGORIES, Redactor, luhnOk } from "./redact.js";
export { ACTIONS, STATUSES, uuid7 } from "./event.js";
export { recordingFetch, type Provider, type RecordingFetch } from "./integrations/http.js";
export { SealogCallbackHandler } from "./integrations/langchain.js";
export { sealogMiddleware, type SealogMiddleware } from "./integrations/vercel.js";
