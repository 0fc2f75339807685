/** HTTP to the Sealog server over Node's `fetch`, with gzip'd bodies and `Retry-After`. */
import { gzip } from "node:zlib";
import { promisify } from "node:util";

const gzipAsync = promisify(gzip);
const USER_AGENT = "sealog-typescript/0.1.0";
/** Bodies shorter than this are sent as they are: gzip would not pay for itself. */
const GZIP_MIN_BYTES = 1024;

/** The server could not be reached, or the connection broke. */
export class TransportError extends Error {
  override name = "TransportError";
}

/** A server answer. */
export interface HttpResponse {
  status: number;
  headers: Headers;
  body: string;
}

/** Seconds to wait from a `Retry-After` header (seconds or an HTTP date); undefined if none. */
export function parseRetryAfter(v: string | null): number | undefined {
  if (!v) return undefined;
  const s = v.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  const at = Date.parse(s);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - Date.now()) / 1000);
}

/** The `{code, message}` of an error answer (or the status and the start of the body). */
export function errorOf(r: HttpResponse): { code: string; message: string } {
  try {
    const e = (JSON.parse(r.body) as { error?: { code?: unknown; message?: unknown } }).error;
    if (e !== undefined) return { code: String(e.code ?? r.status), message: String(e.message ?? "") };
  } catch {
    // not JSON: fall through to the raw body
  }
  return { code: String(r.status), message: r.body.slice(0, 200) };
}

/** One server's base URL and credentials. */
export class Transport {
  readonly base: string;

  /** Throws for a URL that is not `http(s)://host…`. */
  constructor(url: string, readonly apiKey: string | undefined) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new Error(`bad Sealog URL: ${JSON.stringify(url)}`);
    }
    if ((u.protocol !== "http:" && u.protocol !== "https:") || !u.hostname) {
      throw new Error(`bad Sealog URL: ${JSON.stringify(url)}`);
    }
    this.base = url.replace(/\/+$/, "");
  }

  /** Send one request; throws {@link TransportError} when no answer came within `timeoutMs`. */
  async request(method: string, path: string, body: string | undefined, timeoutMs: number): Promise<HttpResponse> {
    const headers: Record<string, string> = { "User-Agent": USER_AGENT, Accept: "application/json" };
    if (this.apiKey) headers["Authorization"] = `Bearer ${this.apiKey}`;
    let payload: Buffer | undefined;
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      payload = Buffer.from(body, "utf8");
      if (payload.length > GZIP_MIN_BYTES) {
        payload = await gzipAsync(payload, { level: 1 });
        headers["Content-Encoding"] = "gzip";
      }
    }
    try {
      const r = await fetch(this.base + path, { method, headers, body: payload ?? null, signal: AbortSignal.timeout(timeoutMs) });
      return { status: r.status, headers: r.headers, body: await r.text() };
    } catch (e) {
      throw new TransportError(e instanceof Error ? `${e.message}${e.cause ? `: ${String(e.cause)}` : ""}` : String(e));
    }
  }
}
