/** HMAC-SHA-256 payload commitments over canonical JSON (spec/README.md §4). */
import { createHmac, timingSafeEqual } from "node:crypto";
import { canonicalJson } from "./canonical.js";

/** The prefix of every commitment string. */
export const COMMITMENT_PREFIX = "hmac-sha256:";
/** The shortest commitment key accepted, in bytes. */
export const MIN_KEY_BYTES = 16;

/** A commitment key: raw bytes, or text (hex, `hex:…`, `base64:…`, else its UTF-8 bytes). */
export type CommitmentKey = Uint8Array | string;

/** A commitment payload, as events carry it in `input` / `output`. */
export interface CommitmentPayload {
  commitment: string;
  size: number;
  media_type?: string;
}

/**
 * Normalise a commitment key to its bytes, as the Python SDK does: bytes as they are; text as
 * even-length hex, `hex:…` or `base64:…` if it is one, else its UTF-8 bytes. At least 16 bytes.
 */
export function asKey(key: CommitmentKey): Buffer {
  let raw: Buffer;
  if (typeof key !== "string") {
    raw = Buffer.from(key);
  } else {
    const s = key.trim();
    if (s.startsWith("base64:")) raw = Buffer.from(s.slice(7), "base64");
    else if (s.startsWith("hex:")) raw = hexBytes(s.slice(4)) ?? Buffer.alloc(0);
    else raw = hexBytes(s) ?? Buffer.from(s, "utf8");
  }
  if (raw.length < MIN_KEY_BYTES) throw new Error(`commitment keys must be at least ${MIN_KEY_BYTES} bytes`);
  return raw;
}

function hexBytes(s: string): Buffer | undefined {
  return s.length > 0 && s.length % 2 === 0 && /^[0-9a-fA-F]+$/.test(s) ? Buffer.from(s, "hex") : undefined;
}

/** The commitment to raw (non-JSON) bytes. */
export function commitBytes(data: Uint8Array, key: CommitmentKey): string {
  return COMMITMENT_PREFIX + createHmac("sha256", asKey(key)).update(data).digest("base64");
}

/** The exact bytes a commitment to `value` covers: the bytes themselves, else canonical JSON. */
export function committedBytes(value: unknown): Buffer {
  return value instanceof Uint8Array ? Buffer.from(value) : canonicalJson(value);
}

/** The commitment to a value: raw bytes for a `Uint8Array`, else its canonical JSON. */
export function commit(value: unknown, key: CommitmentKey): string {
  return commitBytes(committedBytes(value), key);
}

/** A commitment payload `{commitment, size, media_type?}` for `value`. */
export function payloadCommitment(value: unknown, key: CommitmentKey, mediaType?: string): CommitmentPayload {
  const data = committedBytes(value);
  const out: CommitmentPayload = { commitment: commitBytes(data, key), size: data.length };
  const media = mediaType ?? (value instanceof Uint8Array ? "application/octet-stream" : undefined);
  if (media !== undefined) out.media_type = media;
  return out;
}

/**
 * Whether `value` is what `commitment` (the string or a whole payload) commits to, compared in
 * constant time. False, never an exception, for a value without canonical JSON.
 */
export function checkCommitment(value: unknown, commitment: string | Pick<CommitmentPayload, "commitment">, key: CommitmentKey): boolean {
  const given = typeof commitment === "string" ? commitment : commitment.commitment;
  let expected: string;
  try {
    expected = commit(value, key);
  } catch {
    return false;
  }
  const a = Buffer.from(expected, "utf8");
  const b = Buffer.from(String(given), "utf8");
  return a.length === b.length && timingSafeEqual(a, b);
}
