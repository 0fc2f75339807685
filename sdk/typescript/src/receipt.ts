/**
 * Offline verification of Sealog receipts (C2SP tlog-proof, spec/README.md §5) on WebCrypto's
 * Ed25519 and SHA-256.
 *
 * The checkpoint's signature is checked against a key the caller pins (never a key found in
 * the file), the leaf hash is recomputed from the `extra` bytes, and the RFC 6962 inclusion
 * proof is checked against the checkpoint's root. Strict like the core: keys and signature
 * points that are non-canonical or of small order are refused, as is `S ≥ L`.
 */

const TLOG_PROOF_HEADER = "c2sp.org/tlog-proof@v1";
const ALG_ED25519 = 0x01;
const subtle = globalThis.crypto.subtle;

/** A receipt, checkpoint or proof failed verification. */
export class VerificationError extends Error {
  override name = "VerificationError";
}

/** A signed-note verifier key `<name>+<hex key hash>+<base64(0x01 || pubkey)>`, parsed. */
export interface LogKey {
  name: string;
  keyHash: Uint8Array;
  publicKey: Uint8Array;
}

/** A checkpoint: the log's origin, size, Merkle root and extension lines. */
export interface Checkpoint {
  origin: string;
  size: bigint;
  root: Uint8Array;
  extensions: string[];
}

/** What a successful verification proves. */
export interface VerifiedReceipt {
  index: bigint;
  leaf: Uint8Array;
  leafHash: Uint8Array;
  checkpoint: Checkpoint;
  /** The leaf, parsed: `{v, log, received, event}`. */
  entry: { v: number; log: string; received: string; event: Record<string, unknown> };
}

const fail = (msg: string): never => {
  throw new VerificationError(msg);
};

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function b64(s: string, what: string): Uint8Array {
  if (!B64.test(s)) fail(`${what}: invalid base64`);
  return new Uint8Array(Buffer.from(s, "base64"));
}

async function sha256(...parts: Uint8Array[]): Promise<Uint8Array> {
  return new Uint8Array(await subtle.digest("SHA-256", Buffer.concat(parts)));
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

// The field prime 2^255 − 19, the group order L, and the y coordinates of the eight points of
// small order (RFC 8032): 0, 1, p − 1 and the two of order 8. Every point of small order has one
// of these, whatever its x sign bit.
const P = (1n << 255n) - 19n;
const L = (1n << 252n) + 27742317777372353535851937790883648493n;
const SMALL_ORDER_Y = new Set([
  0n, 1n, P - 1n,
  0x7a03ac9277fdc74ec6cc392cfa53202a0f67100d760b3cba4fd84d3d706a17c7n,
  0x05fc536d880238b13933c6d305acdfd5f098eff289f4c345b027b2c28f95e826n,
]);

function littleEndian(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i] ?? 0);
  return n;
}

/** Whether a 32-byte point encoding is canonical (y < p) and not of small order. */
function strongPoint(enc: Uint8Array): boolean {
  const y = littleEndian(enc) & ((1n << 255n) - 1n);
  return enc.length === 32 && y < P && !SMALL_ORDER_Y.has(y);
}

/** Parse a verifier key as `sealog` prints it; throws {@link VerificationError} if malformed. */
export async function parseLogKey(vkey: string): Promise<LogKey> {
  const parts = vkey.trim().split("+");
  const [name, hashHex] = parts;
  if (parts.length < 3 || !name || hashHex === undefined) fail("log key: expected <name>+<hash>+<key>");
  const keyB64 = parts.slice(2).join("+");
  if (!/^[0-9a-fA-F]{8}$/.test(hashHex ?? "")) fail("log key: bad key hash");
  const keyHash = new Uint8Array(Buffer.from(hashHex ?? "", "hex"));
  const raw = b64(keyB64, "log key");
  if (raw.length !== 33 || raw[0] !== ALG_ED25519) fail("log key: not an Ed25519 signed-note key");
  const expected = (await sha256(Buffer.from(`${name}\n`, "utf8"), raw)).slice(0, 4);
  if (!equal(expected, keyHash)) fail("log key: key hash does not match name and key");
  const publicKey = raw.slice(1);
  if (!strongPoint(publicKey)) fail("log key: Ed25519 public key is non-canonical or of small order");
  return { name: name ?? "", keyHash, publicKey };
}

/** Strict Ed25519: WebCrypto's check plus canonical, not-small-order R and S < L. */
async function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, sig: Uint8Array): Promise<boolean> {
  if (sig.length !== 64 || !strongPoint(sig.slice(0, 32)) || littleEndian(sig.slice(32)) >= L) return false;
  let key: Awaited<ReturnType<typeof subtle.importKey>>;
  try {
    key = await subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
  } catch {
    return fail("log key: not a point on Ed25519");
  }
  return subtle.verify({ name: "Ed25519" }, key, sig, message);
}

/** Verify a signed note against a pinned key; returns its text (the body) on success. */
export async function verifySignedNote(note: string, key: LogKey): Promise<string> {
  const sep = note.lastIndexOf("\n\n");
  if (sep < 0) fail("signed note: no signature block");
  const text = note.slice(0, sep + 1);
  const lines = note.slice(sep + 2).split("\n");
  if (lines.at(-1) === "") lines.pop();
  if (lines.length === 0) fail("signed note: no signatures");
  for (const line of lines) {
    if (!line.startsWith("\u2014 ")) fail("signed note: malformed signature line");
    const space = line.lastIndexOf(" ");
    if (line.slice(2, space) !== key.name) continue;
    const raw = b64(line.slice(space + 1), "signature");
    if (raw.length < 5 || !equal(raw.slice(0, 4), key.keyHash)) continue;
    if (await ed25519Verify(key.publicKey, Buffer.from(text, "utf8"), raw.slice(4))) return text;
    fail("signed note: invalid signature by the pinned key");
  }
  return fail("signed note: not signed by the pinned key");
}

/** Parse a checkpoint's text (the body of its signed note, already verified). */
export function parseCheckpoint(text: string): Checkpoint {
  const lines = text.split("\n");
  const [origin, sizeS, rootS] = lines;
  if (lines.length < 4 || lines.at(-1) !== "" || origin === undefined || rootS === undefined) {
    return fail("checkpoint: malformed");
  }
  if (!/^(?:0|[1-9]\d*)$/.test(sizeS ?? "")) fail("checkpoint: bad size");
  const root = b64(rootS, "checkpoint root");
  if (root.length !== 32) fail("checkpoint: root is not 32 bytes");
  return { origin, size: BigInt(sizeS ?? ""), root, extensions: lines.slice(3, -1) };
}

/** The RFC 6962 hash of a leaf: SHA-256 of `0x00 || leaf`. */
export function leafHash(leaf: Uint8Array): Promise<Uint8Array> {
  return sha256(Uint8Array.of(0), leaf);
}

/** RFC 9162 §2.1.3.2 inclusion proof verification (`leaf` is the leaf hash). */
export async function verifyInclusion(leaf: Uint8Array, index: bigint, size: bigint, proof: Uint8Array[], root: Uint8Array): Promise<boolean> {
  if (index < 0n || index >= size) return false;
  let fn = index;
  let sn = size - 1n;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      r = await sha256(Uint8Array.of(1), p, r);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = await sha256(Uint8Array.of(1), r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && equal(r, root);
}

/** A parsed `c2sp.org/tlog-proof@v1` file. */
export interface TlogProof {
  extra: Uint8Array | undefined;
  index: bigint;
  hashes: Uint8Array[];
  checkpointNote: string;
}

/** Parse a `c2sp.org/tlog-proof@v1` file; throws {@link VerificationError} if malformed. */
export function parseTlogProof(text: string): TlogProof {
  const sep = text.indexOf("\n\n");
  if (sep < 0) fail("tlog-proof: missing checkpoint");
  const lines = text.slice(0, sep).split("\n");
  if (lines[0] !== TLOG_PROOF_HEADER) fail("tlog-proof: bad header");
  let i = 1;
  let extra: Uint8Array | undefined;
  if (lines[i]?.startsWith("extra ")) extra = b64((lines[i++] ?? "").slice(6), "extra");
  const indexLine = lines[i++];
  if (!indexLine?.startsWith("index ")) fail("tlog-proof: missing index");
  const idx = (indexLine ?? "").slice(6);
  if (!/^\d+$/.test(idx)) fail("tlog-proof: bad index");
  const hashes = lines.slice(i).map((line) => {
    const h = b64(line, "proof hash");
    if (h.length !== 32) fail("tlog-proof: proof hash is not 32 bytes");
    return h;
  });
  return { extra, index: BigInt(idx), hashes, checkpointNote: text.slice(sep + 2) };
}

/**
 * Verify a receipt offline against the pinned `logKey` (a signed-note vkey).
 * Rejects with {@link VerificationError} if anything does not check out.
 */
export async function verifyReceipt(proofText: string, logKey: string | LogKey): Promise<VerifiedReceipt> {
  const tp = parseTlogProof(proofText);
  const key = typeof logKey === "string" ? await parseLogKey(logKey) : logKey;
  if (tp.extra === undefined) fail("tlog-proof: no leaf bytes in the extra line");
  const leaf = tp.extra ?? new Uint8Array();
  const checkpoint = parseCheckpoint(await verifySignedNote(tp.checkpointNote, key));
  if (checkpoint.origin !== key.name) fail("checkpoint: origin does not match the pinned key");
  const lh = await leafHash(leaf);
  if (!(await verifyInclusion(lh, tp.index, checkpoint.size, tp.hashes, checkpoint.root))) {
    fail("inclusion proof does not lead to the checkpoint root");
  }
  let entry: VerifiedReceipt["entry"];
  try {
    entry = JSON.parse(Buffer.from(leaf).toString("utf8")) as VerifiedReceipt["entry"];
  } catch {
    return fail("leaf is not a Sealog entry");
  }
  if (typeof entry !== "object" || entry === null || typeof entry.event !== "object" || entry.event === null) {
    fail("leaf is not a Sealog entry");
  }
  return { index: tp.index, leaf, leafHash: lh, checkpoint, entry };
}

/** The server's acknowledgement of one event (from `recordSync`). */
export class Receipt {
  /** Build a receipt from the server's per-event result. */
  constructor(
    readonly id: string,
    readonly status: string,
    readonly index?: number,
    /** The leaf hash the server acknowledged, in standard base64. */
    readonly leafHash?: string,
    /** The tlog-proof text, when the event was sent with `wait: "checkpoint"`. */
    readonly proof?: string,
    readonly error?: { code?: string; message?: string },
  ) {}

  /** True when the server holds the event (`accepted`, or `duplicate`: already held). */
  get ok(): boolean {
    return this.status === "accepted" || this.status === "duplicate";
  }

  /** Verify the tlog-proof offline and check that it is about this event. */
  async verify(logKey: string | LogKey): Promise<VerifiedReceipt> {
    if (this.proof === undefined) fail("receipt has no proof; use recordSync(…, {wait: 'checkpoint'})");
    const v = await verifyReceipt(this.proof ?? "", logKey);
    if (this.index !== undefined && v.index !== BigInt(this.index)) fail("proof index differs from the acknowledged index");
    if (this.leafHash !== undefined && Buffer.from(v.leafHash).toString("base64") !== this.leafHash) {
      fail("proof leaf differs from the acknowledged leaf hash");
    }
    if (v.entry.event["id"] !== this.id) fail("proof is about another event");
    return v;
  }
}
