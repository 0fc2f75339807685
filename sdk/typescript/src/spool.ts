/**
 * Crash-safe on-disk spool for events that could not be delivered (yet), in the Python SDK's
 * framing: each record is `u32 length (big-endian) | u32 CRC-32 of payload | payload`, the
 * payload one event's JSON. A crash can only tear the tail of a segment; readers stop at the
 * first short or corrupt frame and say how many bytes were unreadable.
 *
 * Layout: one directory per (server URL, log). Each process appends to its own segment
 * `<time>-<pid>-<random>.seg`, with one `fsync` per appended batch (never per event) and one of
 * the directory when a segment is created. Node has no `flock`, so a segment is claimed for
 * replay by renaming it to `<name>.<pid>.replay` — a rename succeeds for one process only —
 * and a claim whose process is gone is taken over by the next process that looks.
 */
import { createHash, randomBytes } from "node:crypto";
import { promises as fsp, mkdirSync, readdirSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/** The largest record a frame may hold; a longer length is taken as corruption. */
export const MAX_RECORD = 16 * 1024 * 1024;
const HEADER = 8;

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 (IEEE, as zlib computes it) of `data`. */
export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) c = (CRC_TABLE[(c ^ b) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Frame records for the spool. */
export function encodeFrames(records: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const r of records) {
    const h = Buffer.alloc(HEADER);
    h.writeUInt32BE(r.length, 0);
    h.writeUInt32BE(crc32(r), 4);
    parts.push(h, r);
  }
  return Buffer.concat(parts);
}

/** Decode frames: the records, and how many trailing bytes were torn or corrupt. */
export function readFrames(data: Buffer): { records: Buffer[]; corruptBytes: number } {
  const records: Buffer[] = [];
  let pos = 0;
  while (pos + HEADER <= data.length) {
    const length = data.readUInt32BE(pos);
    const end = pos + HEADER + length;
    if (length > MAX_RECORD || end > data.length) break;
    const rec = data.subarray(pos + HEADER, end);
    if (crc32(rec) !== data.readUInt32BE(pos + 4)) break;
    records.push(rec);
    pos = end;
  }
  return { records, corruptBytes: data.length - pos };
}

/** `$SEALOG_SPOOL_DIR`, else `$XDG_STATE_HOME/sealog/spool`, else `~/.local/state/sealog/spool`. */
export function defaultSpoolRoot(): string {
  const env = process.env["SEALOG_SPOOL_DIR"];
  if (env) return env;
  return join(process.env["XDG_STATE_HOME"] || join(homedir(), ".local", "state"), "sealog", "spool");
}

/** The spool directory of one (URL, log), named as the Python SDK names it. */
export function spoolDirFor(root: string, url: string, log: string): string {
  const h = createHash("sha256").update(`${url}\n${log}`).digest("hex").slice(0, 16);
  const safe = [...log].map((c) => (/[A-Za-z0-9\-_.]/.test(c) ? c : "_")).join("").slice(0, 64);
  return join(root, `${safe}-${h}`);
}

/** A segment claimed for replay: its records, and what to unlink once they are delivered. */
export interface ClaimedSegment {
  path: string;
  records: Buffer[];
  corruptBytes: number;
  size: number;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** One process's view of a spool directory. Appends are serialised by the caller. */
/**
 * The name a key's segments carry: the public id of a `slk_<id>_<secret>` key, `h` and 16 hex
 * digits of SHA-256 for keys of other forms, `none` without a key. Never the secret.
 */
export function spoolKeyId(apiKey: string | undefined): string {
  if (apiKey === undefined || apiKey === "") return "none";
  const m = /^slk_([0-9a-f]{1,64})_/.exec(apiKey);
  if (m?.[1] !== undefined) return m[1];
  return `h${createHash("sha256").update(apiKey).digest("hex").slice(0, 16)}`;
}

/** The key id a segment's base name (without `.seg`) carries, if any (older segments have none). */
function keyOfBase(base: string): string | undefined {
  return /-k([0-9a-z]+)$/.exec(base)?.[1];
}

export class Spool {
  private file: fsp.FileHandle | undefined;
  private filePath: string | undefined;
  private fileSize = 0;
  private bytes: number;
  /** Segments this process wrote that are not yet delivered. */
  private readonly own = new Set<string>();

  /** Segments of other keys (or of none recorded) found here, never replayed by this process. */
  foreign = { segments: 0, bytes: 0 };

  /**
   * Open (creating) the spool directory `dir` for the key with id `keyId` (see
   * {@link spoolKeyId}): it writes and replays only that key's segments, so an event is never
   * delivered under an identity that did not send it. `maxBytes` caps what `append` keeps.
   */
  constructor(
    readonly dir: string,
    readonly keyId: string,
    readonly maxBytes: number,
    readonly fsync: boolean = true,
    readonly segmentBytes: number = 8 * 1024 * 1024,
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.bytes = this.scanBytes();
    if (this.foreign.segments > 0) {
      console.warn(
        `sealog: ${this.foreign.segments} spool segment(s) (${this.foreign.bytes} bytes) in ${dir} were written under another API key (or an older SDK) and are not sent with this one; run a client with that key to deliver them`,
      );
    }
  }

  /** The key a segment file belongs to, from its name. */
  private keyOf(name: string): string | undefined {
    return keyOfBase(name.replace(/\.\d+\.replay$/, "").replace(/\.seg$/, ""));
  }

  private scanBytes(): number {
    let total = 0;
    this.foreign = { segments: 0, bytes: 0 };
    for (const name of readdirSync(this.dir)) {
      if (!name.endsWith(".seg") && !name.endsWith(".replay")) continue;
      let size = 0;
      try {
        size = statSync(join(this.dir, name)).size;
      } catch {
        continue; // gone meanwhile: delivered by another process
      }
      total += size;
      if (this.keyOf(name) !== this.keyId) {
        this.foreign.segments++;
        this.foreign.bytes += size;
      }
    }
    return total;
  }

  /** Bytes held in the directory, as last counted. */
  get sizeBytes(): number {
    return this.bytes;
  }

  /** Whether segments this process wrote are still undelivered. */
  get ownPending(): boolean {
    return this.own.size > 0;
  }

  /**
   * Append records durably (one write, one fsync). Returns how many were written and how many
   * were dropped because they would take the spool past `maxBytes` (unless `force`): the
   * caller must report those as lost.
   */
  async append(records: readonly Buffer[], force = false): Promise<{ written: number; dropped: number }> {
    let room = this.maxBytes - this.bytes;
    const keep: Buffer[] = [];
    for (const r of records) {
      const need = r.length + HEADER;
      if (force || need <= room) {
        keep.push(r);
        room -= need;
      }
    }
    const dropped = records.length - keep.length;
    if (keep.length === 0) return { written: 0, dropped };
    const data = encodeFrames(keep);
    if (this.file === undefined || this.fileSize >= this.segmentBytes) await this.openSegment();
    const file = this.file as fsp.FileHandle;
    await file.write(data);
    if (this.fsync) await file.sync();
    this.fileSize += data.length;
    this.bytes += data.length;
    return { written: keep.length, dropped };
  }

  private async openSegment(): Promise<void> {
    await this.closeSegment();
    const name = `${process.hrtime.bigint().toString().padStart(20, "0")}-${process.pid}-${randomBytes(4).toString("hex")}-k${this.keyId}.seg`;
    const path = join(this.dir, name);
    this.file = await fsp.open(path, "a", 0o600);
    this.filePath = path;
    this.fileSize = 0;
    this.own.add(path);
    if (this.fsync) await this.syncDir();
  }

  private async syncDir(): Promise<void> {
    const d = await fsp.open(this.dir, "r");
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  }

  /** Stop writing to the current segment, so that it can be replayed. */
  async closeSegment(): Promise<void> {
    const f = this.file;
    this.file = undefined;
    this.filePath = undefined;
    this.fileSize = 0;
    await f?.close();
  }

  /**
   * Claim the segments nobody else holds, oldest first: closed ones (ours, or left by a dead
   * process) and claims whose process is gone. The segment being written is skipped: call
   * {@link closeSegment} first (between appends) to replay it too. Each must be passed to {@link done} or
   * {@link release}.
   */
  async *claim(): AsyncGenerator<ClaimedSegment> {
    this.bytes = this.scanBytes();
    const names = readdirSync(this.dir).sort();
    for (const name of names) {
      const path = await this.take(name);
      if (path === undefined) continue;
      let data: Buffer;
      try {
        data = await fsp.readFile(path);
      } catch {
        continue;
      }
      const { records, corruptBytes } = readFrames(data);
      yield { path, records, corruptBytes, size: data.length };
    }
  }

  /** Rename a claimable file to a claim of ours; undefined if it is not claimable. */
  private async take(name: string): Promise<string | undefined> {
    const from = join(this.dir, name);
    if (this.keyOf(name) !== this.keyId) return undefined; // another key's, never ours to send
    let base: string;
    if (name.endsWith(".seg")) {
      // Another live process's segment is its own to replay; ours, unless we still write it.
      const pid = Number(/^\d+-(\d+)-/.exec(name)?.[1]);
      if (from === this.filePath || (pid !== process.pid && alive(pid))) return undefined;
      base = name.slice(0, -4);
    } else {
      const m = /^(.*)\.(\d+)\.replay$/.exec(name);
      if (m === null || Number(m[2]) === process.pid || alive(Number(m[2]))) return undefined;
      base = m[1] ?? name;
    }
    const to = join(this.dir, `${base}.${process.pid}.replay`);
    try {
      await fsp.rename(from, to);
    } catch {
      return undefined; // another process claimed it first
    }
    if (this.own.delete(from)) this.own.add(to);
    return to;
  }

  /** A claimed segment was delivered: delete it. */
  async done(seg: ClaimedSegment): Promise<void> {
    await fsp.unlink(seg.path).catch(() => undefined);
    this.bytes = Math.max(0, this.bytes - seg.size);
    this.own.delete(seg.path);
  }

  /** A claimed segment could not be delivered now: give it back for a later replay. */
  async release(seg: ClaimedSegment): Promise<void> {
    const back = seg.path.replace(/\.\d+\.replay$/, ".seg");
    await fsp.rename(seg.path, back).catch(() => undefined);
    if (this.own.delete(seg.path)) this.own.add(back);
  }
}
