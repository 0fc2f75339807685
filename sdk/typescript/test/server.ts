/** Start and stop the REAL `sealog` binary for tests (`$SEALOG_BIN`; no mocked server). */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

/** A fresh temporary directory for one test. */
export function tempDir(prefix = "sealog-ts-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** One `sealog serve` on its own data directory, restartable on the same address. */
export class SealogServer {
  proc: ChildProcess | undefined;
  addr: string | undefined;
  adminToken = "";
  ingestKey = "";
  readKey = "";
  readonly data: string;

  /** A server on a fresh data directory (not started). */
  constructor(readonly binary: string = binaryPath(), data?: string) {
    this.data = data ?? join(tempDir(), "data");
  }

  /** The base URL. */
  get url(): string {
    return `http://${this.addr ?? "?"}`;
  }

  /** Start (a restart reuses the address, retrying while the old socket is released). */
  async start(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.startOnce();
        break;
      } catch (e) {
        if (this.addr === undefined || attempt >= 40) throw e;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    if (!this.adminToken) {
      this.adminToken = readFileSync(join(this.data, "admin.token"), "utf8").trim();
      this.ingestKey = await this.createKey("ingest");
      this.readKey = await this.createKey("read");
    }
  }

  private startOnce(): Promise<void> {
    const proc = spawn(this.binary, ["serve", "--data", this.data, "--listen", this.addr ?? "127.0.0.1:0", "--name", "sealog.test"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.proc = proc;
    let stderr = "";
    proc.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    return new Promise((resolve, reject) => {
      const lines = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
      lines.on("line", (line) => {
        const m = /listening on http:\/\/(\S+)/.exec(line);
        if (m?.[1] !== undefined) {
          this.addr = m[1];
          resolve();
        }
      });
      proc.on("exit", (code) => {
        this.proc = undefined;
        reject(new Error(`sealog serve exited (${code}): ${stderr}`));
      });
    });
  }

  /** Stop the server: SIGTERM, or SIGKILL with `kill`. */
  async stop(kill = false): Promise<void> {
    const p = this.proc;
    if (p === undefined || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once("exit", r));
    p.kill(kill ? "SIGKILL" : "SIGTERM");
    await exited;
    this.proc = undefined;
  }

  /** A JSON request with the admin token (or `key`). */
  async request(method: string, path: string, body?: unknown, key?: string): Promise<unknown> {
    const init: RequestInit = { method, headers: { Authorization: `Bearer ${key ?? this.adminToken}`, "Content-Type": "application/json" } };
    if (body !== undefined) init.body = JSON.stringify(body);
    const r = await fetch(this.url + path, init);
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return (r.headers.get("content-type") ?? "").includes("json") ? JSON.parse(text) : text;
  }

  /** Create an API key of `role` for the default log. */
  async createKey(role: string): Promise<string> {
    const out = (await this.request("POST", "/v1/logs/default/keys", { role })) as { key: string };
    return out.key;
  }

  /** `GET /v1/logs/default`. */
  async info(): Promise<{ vkey: string; size: number }> {
    return (await this.request("GET", "/v1/logs/default", undefined, this.readKey)) as { vkey: string; size: number };
  }

  /** Every event in the log, following the cursor. */
  async events(query = ""): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    let cursor: string | undefined;
    do {
      const q = `limit=1000${query ? `&${query}` : ""}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const page = (await this.request("GET", `/v1/logs/default/events?${q}`, undefined, this.readKey)) as { events: { event?: Record<string, unknown> }[]; next?: string | null };
      for (const it of page.events) out.push((it.event ?? it) as Record<string, unknown>);
      cursor = page.next ?? undefined;
    } while (cursor);
    return out;
  }

  /** The receipt (tlog-proof text) of one event. */
  async proof(id: string): Promise<string> {
    return (await this.request("GET", `/v1/logs/default/events/${id}/proof`, undefined, this.readKey)) as string;
  }
}

/** The binary to test: `$SEALOG_BIN`. */
export function binaryPath(): string {
  const bin = process.env["SEALOG_BIN"];
  if (!bin) throw new Error("set SEALOG_BIN to the sealog binary the tests start");
  return bin;
}

/** Poll `pred` until true (or throw after `timeoutMs`): for state, not for speed. */
export async function waitFor(pred: () => Promise<boolean> | boolean, timeoutMs = 30_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await pred()) return;
    } catch {
      // not yet (server restarting)
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
