// Sealog receipt verifier for the browser: C2SP tlog-proof@v1 + signed-note checkpoint,
// RFC 9162 inclusion proof, Ed25519. It mirrors sealog-core's tlog_proof.rs, note.rs,
// checkpoint.rs, receipt.rs and merkle/verify.rs, including their strictness: one spelling per
// receipt (canonical base64, decimal without leading zeros, exact lines).
//
// SHA-256 and Ed25519 come from WebCrypto where the browser offers them. WebCrypto exists only
// in a secure context (HTTPS, or http://localhost), so on a plain-HTTP host name the same checks
// run on vendored pure-JavaScript code instead (vendor/README.md: @noble/hashes, @noble/ed25519),
// loaded only then. Both give the same verdict on every input: the Ed25519 rules of
// ed25519-dalek's verify_strict, which the core uses, are applied here on both paths.
//
// Trust: the only input trusted is the vkey the user pinned. Key names, key ids and origins
// inside the receipt are compared against it, never taken from it.

const HEADER = 'c2sp.org/tlog-proof@v1';
const MAX_INCLUSION_HASHES = 64;
const MAX_NOTE_SIZE = 1 << 20;
const MAX_SIGNATURES = 100;
const ALG_ED25519 = 0x01;
const U64_MAX = (1n << 64n) - 1n;

/** A receipt or key that was refused; `message` says which check failed. */
export class VerifyError extends Error {
  constructor(message) {
    super(message);
    this.name = 'VerifyError';
  }
}

const fail = (msg) => {
  throw new VerifyError(msg);
};

const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decodes canonical padded standard base64 (unused trailing bits must be zero). */
export function decodeBase64(s, what) {
  if (!B64_RE.test(s)) fail(`${what} is not valid base64`);
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  // atob ignores non-zero padding bits; re-encoding exposes them.
  if (encodeBase64(out) !== s) fail(`${what} is not canonical base64`);
  return out;
}

/** Standard padded base64 of bytes. */
export function encodeBase64(bytes) {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** Lowercase hex of bytes. */
export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A u64 in decimal without sign or leading zeros, as a BigInt. */
function parseDecimal(s, what) {
  if (s === '') fail(`${what} is empty`);
  if (!/^[0-9]+$/.test(s)) fail(`${what} is not a decimal number`);
  if (s.length > 1 && s[0] === '0') fail(`${what} has a leading zero`);
  const n = BigInt(s);
  if (n > U64_MAX) fail(`${what} exceeds 2^64-1`);
  return n;
}

function decodeHash(s, what) {
  if (s.length !== 44) fail(`${what} is not a 32-byte hash in padded base64`);
  const h = decodeBase64(s, what);
  if (h.length !== 32) fail(`${what} is not a 32-byte hash in padded base64`);
  return h;
}

function concat(...parts) {
  let len = 0;
  for (const p of parts) len += p.length;
  const buf = new Uint8Array(len);
  let at = 0;
  for (const p of parts) {
    buf.set(p, at);
    at += p.length;
  }
  return buf;
}

// ---- the cryptography: WebCrypto, or the vendored JavaScript where WebCrypto is missing ----

/** What the pure-JavaScript path runs on (vendor/README.md; a test checks these versions). */
export const FALLBACK_SHA256 = '@noble/hashes 2.4.0';
export const FALLBACK_ED25519 = '@noble/ed25519 3.2.0';

let cryptoMode = 'auto';
let enginePromise = null;
let nobleModules = null;

/**
 * Chooses the implementation: 'auto' (the default: WebCrypto where the browser offers it, the
 * vendored JavaScript for what it lacks), 'webcrypto' (refuse to verify without it) or 'js'
 * (the vendored JavaScript only). The verdicts are the same; tests run every vector both ways.
 */
export function useCrypto(mode) {
  if (!['auto', 'webcrypto', 'js'].includes(mode)) throw new TypeError(`unknown crypto mode ${mode}`);
  cryptoMode = mode;
  enginePromise = null;
}

function loadNoble() {
  if (!nobleModules) {
    nobleModules = Promise.all([
      import('./vendor/noble-hashes/sha2.js'),
      import('./vendor/noble-ed25519/index.js'),
    ]).then(([hashes, ed]) => ({ sha256: hashes.sha256, sha512: hashes.sha512, Point: ed.Point }));
    // A failed load (the server went away) may be retried by the next check.
    nobleModules.catch(() => {
      nobleModules = null;
    });
  }
  return nobleModules;
}

// The Ed25519 base point: a valid public key, to ask WebCrypto whether it knows Ed25519.
const BASE_POINT = Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 0x58 : 0x66));

async function webCrypto() {
  const subtle = globalThis.crypto && globalThis.crypto.subtle;
  if (!subtle) return { sha256: null, ed25519: null };
  const sha = async (buf) => new Uint8Array(await subtle.digest('SHA-256', buf));
  let ed = null;
  try {
    await subtle.importKey('raw', BASE_POINT, { name: 'Ed25519' }, false, ['verify']);
    ed = async (publicKey, message, signature) => {
      const key = await subtle.importKey('raw', publicKey, { name: 'Ed25519' }, false, ['verify']);
      return subtle.verify({ name: 'Ed25519' }, key, signature, message);
    };
  } catch {
    ed = null;
  }
  return { sha256: sha, ed25519: ed };
}

const L = (1n << 252n) + 27742317777372353535851937790883648493n;

function littleEndian(bytes) {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]);
  return n;
}

/**
 * Ed25519 on noble's curve arithmetic and SHA-512, with RFC 8032's cofactorless equation
 * [s]B - [k]A = R, R compared byte for byte, as BoringSSL (Chromium's WebCrypto) and
 * ed25519-dalek compute it. (noble's own verify() checks the cofactored equation, which also
 * accepts signatures whose R carries a small-order component; the core refuses those.)
 */
function nobleEd25519(noble) {
  return async (publicKey, message, signature) => {
    const r = signature.subarray(0, 32);
    const s = littleEndian(signature.subarray(32, 64));
    if (s >= L) return false;
    let a;
    try {
      a = noble.Point.fromBytes(publicKey, false);
    } catch {
      return false;
    }
    const k = littleEndian(noble.sha512(concat(r, publicKey, message))) % L;
    const expected = noble.Point.BASE.multiply(s, false).subtract(a.multiply(k, false));
    return bytesEqual(expected.toBytes(), r);
  };
}

async function makeEngine(mode) {
  const web = mode === 'js' ? { sha256: null, ed25519: null } : await webCrypto();
  if (mode === 'webcrypto' && !(web.sha256 && web.ed25519)) {
    fail(`WebCrypto ${web.sha256 ? 'Ed25519 is' : 'is'} not available here${globalThis.isSecureContext ? '' : ' (this page is not a secure context)'}`);
  }
  if (web.sha256 && web.ed25519) {
    return { sha256: web.sha256, ed25519: web.ed25519, info: { sha256: 'WebCrypto', ed25519: 'WebCrypto' } };
  }
  let noble;
  try {
    noble = await loadNoble();
  } catch (e) {
    fail(`WebCrypto is not available here and the JavaScript verifier did not load: ${e.message}`);
  }
  return {
    sha256: web.sha256 || (async (buf) => noble.sha256(buf)),
    ed25519: web.ed25519 || nobleEd25519(noble),
    info: { sha256: web.sha256 ? 'WebCrypto' : FALLBACK_SHA256, ed25519: web.ed25519 ? 'WebCrypto' : FALLBACK_ED25519 },
  };
}

function engine() {
  if (!enginePromise) {
    const p = makeEngine(cryptoMode);
    enginePromise = p;
    p.catch(() => {
      if (enginePromise === p) enginePromise = null;
    });
  }
  return enginePromise;
}

/** Which implementation checks hashes and signatures here: {sha256, ed25519}, each 'WebCrypto' or a vendored package. */
export async function cryptoInfo() {
  return { ...(await engine()).info };
}

async function sha256(...parts) {
  const e = await engine();
  return e.sha256(concat(...parts));
}

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function bytesEqual(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

/** Leaf hash of RFC 6962: SHA-256(0x00 ‖ leaf). */
export function leafHash(leaf) {
  return sha256(Uint8Array.of(0), leaf);
}

function nodeHash(l, r) {
  return sha256(Uint8Array.of(1), l, r);
}

/** Key names: non-empty, no space, no '+', no control character (note.rs check_name). */
function checkName(name, what) {
  if (name === '') fail(`${what} is empty`);
  if (/\s/u.test(name)) fail(`${what} contains a space`);
  if (name.includes('+')) fail(`${what} contains '+'`);
  if (/[\u0000-\u001f]/.test(name)) fail(`${what} contains a control character`);
}

// Ed25519 points of small order (canonical encodings); a key among them admits signatures
// that verify for many messages, so it is refused like ed25519-dalek's is_weak().
const SMALL_ORDER = new Set([
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0000000000000000000000000000000000000000000000000000000000000080',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
]);
const P = (1n << 255n) - 19n;

function checkPublicKey(pub) {
  let y = 0n;
  for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt(i === 31 ? pub[i] & 0x7f : pub[i]);
  const sign = pub[31] >> 7;
  // One spelling per key: y below p, and no sign bit on the points whose x is 0.
  if (y >= P || (sign === 1 && (y === 1n || y === P - 1n))) {
    fail('Ed25519 public key is not canonically encoded');
  }
  if (SMALL_ORDER.has(toHex(pub))) fail('Ed25519 public key has small order');
}

/**
 * Parses a vkey `name+hex(id)+base64(0x01 ‖ 32-byte key)` and checks its key id
 * (first 4 bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ key)). Resolves to {name, keyId, publicKey}.
 */
export async function parseVkey(vkey) {
  if (typeof vkey !== 'string') fail('log key is missing');
  const first = vkey.indexOf('+');
  const second = first < 0 ? -1 : vkey.indexOf('+', first + 1);
  if (second < 0) fail('log key: expected <name>+<key ID>+<key>');
  const name = vkey.slice(0, first);
  const idHex = vkey.slice(first + 1, second);
  checkName(name, 'log key name');
  if (!/^[0-9a-f]{8}$/.test(idHex)) fail('log key: key ID is not eight lowercase hex digits');
  const raw = decodeBase64(vkey.slice(second + 1), 'log key');
  if (raw.length === 0) fail('log key: key is empty');
  if (raw[0] !== ALG_ED25519) fail(`log key has signature type ${raw[0]}, expected 1 (Ed25519)`);
  const pub = raw.slice(1);
  const sum = await sha256(utf8.encode(name), Uint8Array.of(0x0a, ALG_ED25519), pub);
  const computed = toHex(sum.slice(0, 4));
  if (computed !== idHex) {
    fail(`log key ${name}: key ID ${idHex} does not match the key (expected ${computed})`);
  }
  if (pub.length !== 32) fail('log key: Ed25519 public key is not 32 bytes');
  checkPublicKey(pub);
  return { name, keyId: idHex, publicKey: pub };
}

/** Parses a signed note strictly (note.rs Note::parse). */
function parseNote(bytes) {
  if (bytes.length > MAX_NOTE_SIZE) fail(`note is ${bytes.length} bytes, over the limit`);
  let s;
  try {
    s = strictUtf8.decode(bytes);
  } catch {
    fail('note is not valid UTF-8');
  }
  const ctl = bytes.findIndex((b) => b < 0x20 && b !== 0x0a);
  if (ctl >= 0) fail(`note contains control character 0x${bytes[ctl].toString(16).padStart(2, '0')}`);
  if (!s.endsWith('\n')) fail('note does not end in a newline');
  const split = s.lastIndexOf('\n\n');
  if (split < 0) fail('note has no blank line separating its text from its signatures');
  const text = s.slice(0, split + 1);
  const sigs = s.slice(split + 2);
  if (sigs === '') fail('note has no signature lines after its last blank line');
  if (text === '\n' || text.endsWith('\n\n')) {
    fail('note text ends with a blank line: exactly one blank line must precede the signatures');
  }
  const signatures = [];
  for (const line of sigs.slice(0, -1).split('\n')) {
    if (signatures.length === MAX_SIGNATURES) fail('note has too many signatures');
    if (!line.startsWith('\u2014 ')) fail('malformed signature line: it does not start with an em dash and a space');
    const rest = line.slice(2);
    const sp = rest.indexOf(' ');
    if (sp < 0) fail('malformed signature line: no space between the key name and the signature');
    const name = rest.slice(0, sp);
    checkName(name, 'signature key name');
    const raw = decodeBase64(rest.slice(sp + 1), 'signature');
    if (raw.length < 5) fail('malformed signature line: signature is too short');
    const keyId = toHex(raw.slice(0, 4));
    if (signatures.some((x) => x.name === name && x.keyId === keyId)) {
      fail(`second signature from key ${name}+${keyId}`);
    }
    signatures.push({ name, keyId, signature: raw.slice(4) });
  }
  return { text, signatures };
}

/** Parses a checkpoint body strictly (checkpoint.rs parse_body). */
function parseCheckpointBody(body) {
  if (!body.endsWith('\n')) fail('checkpoint body does not end in a newline');
  const lines = body.slice(0, -1).split('\n');
  const bad = lines.findIndex((l) => /[\u0000-\u001f\u007f]/.test(l));
  if (bad >= 0) fail(`checkpoint line ${bad + 1} contains a control character`);
  if (lines.length < 3) fail(`checkpoint has ${lines.length} lines; it needs at least 3`);
  const [origin, size, root, ...extensions] = lines;
  if (origin === '') fail('checkpoint origin is empty');
  if (/[\s\u0000-\u001f\u007f-\u009f]/u.test(origin)) {
    fail('checkpoint origin contains a space or a control character');
  }
  const cp = {
    origin,
    size: parseDecimal(size, 'checkpoint tree size'),
    root: decodeHash(root, 'checkpoint root hash'),
  };
  extensions.forEach((e, i) => {
    if (e === '') fail(`checkpoint extension line ${4 + i} is empty`);
  });
  return cp;
}

/** Parses a tlog-proof strictly (tlog_proof.rs TlogProof::parse). */
export function parseTlogProof(bytes) {
  let at = 0;
  let lineNo = 0;
  const next = () => {
    lineNo++;
    const i = bytes.indexOf(0x0a, at);
    if (i < 0) fail(`line ${lineNo}: unexpected end of proof (missing line or newline)`);
    // Header lines are ASCII; any other byte makes the line fail its pattern below.
    const line = String.fromCharCode(...bytes.subarray(at, i));
    at = i + 1;
    return line;
  };
  if (next() !== HEADER) fail(`line 1: not a tlog-proof (expected "${HEADER}")`);
  let line = next();
  let extra = null;
  if (line.startsWith('extra ')) {
    extra = decodeBase64(line.slice(6), `line ${lineNo}: extra data`);
    line = next();
  }
  if (!line.startsWith('index ')) fail(`line ${lineNo}: expected "index <n>"`);
  const index = parseDecimal(line.slice(6), `line ${lineNo}: index`);
  const inclusion = [];
  for (;;) {
    line = next();
    if (line === '') break;
    if (inclusion.length === MAX_INCLUSION_HASHES) {
      fail(`line ${lineNo}: more than ${MAX_INCLUSION_HASHES} inclusion proof hashes`);
    }
    inclusion.push(decodeHash(line, `line ${lineNo}: inclusion proof hash`));
  }
  const checkpoint = bytes.slice(at);
  // Well-formedness of the checkpoint is part of parsing, as in the Rust parser.
  const note = parseNote(checkpoint);
  parseCheckpointBody(note.text);
  return { extra, index, inclusion, checkpoint };
}

/** RFC 9162 §2.1.3.2: recomputes the root from a leaf hash and its inclusion proof. */
export async function verifyInclusion(leafH, index, size, proof, root) {
  // Hashes are 32 bytes, as the core's types make them (or an empty leaf hash could "match" an
  // empty root).
  if (leafH.length !== 32) fail('leaf hash is not 32 bytes');
  if (root.length !== 32) fail('root hash is not 32 bytes');
  if (proof.some((p) => p.length !== 32)) fail('an inclusion proof hash is not 32 bytes');
  if (index >= size) fail(`leaf index ${index} is outside the tree of size ${size}`);
  let fn = index;
  let sn = size - 1n;
  let r = leafH;
  for (const p of proof) {
    if (sn === 0n) fail('inclusion proof is too long');
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) fail('inclusion proof is too short');
  if (!bytesEqual(r, root)) fail('computed root does not match the checkpoint root');
}

/**
 * Strict Ed25519 verification, as ed25519-dalek's verify_strict (the core's) on both paths:
 * s below the group order, R not of small order (WebCrypto alone would accept an R of small
 * order that satisfies the equation), [s]B - [k]A = R exactly. Small-order and non-canonical
 * keys are refused earlier, by parseVkey. Resolves to true or false.
 */
export async function ed25519Verify(publicKey, message, signature) {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  if (littleEndian(signature.subarray(32, 64)) >= L) return false;
  if (SMALL_ORDER.has(toHex(signature.subarray(0, 32)))) return false;
  const e = await engine();
  try {
    return await e.ed25519(publicKey, message, signature);
  } catch {
    return false;
  }
}

/**
 * Verifies a Sealog receipt (tlog-proof with the leaf in `extra`) against a pinned log vkey.
 * `receipt` is a Uint8Array (preferred: the exact bytes served) or a string.
 * Resolves to what was proven, or rejects with a VerifyError naming the failed check.
 */
export async function verifyReceipt(receipt, vkey) {
  const { info } = await engine();
  const bytes = typeof receipt === 'string' ? utf8.encode(receipt) : receipt;
  const key = await parseVkey(vkey);
  let proof;
  try {
    proof = parseTlogProof(bytes);
  } catch (e) {
    fail(`malformed receipt: ${e.message}`);
  }
  if (proof.extra === null) fail('receipt has no "extra" line carrying the leaf');
  // Open the checkpoint: the pinned key's signature, then the body, then the origin.
  const note = parseNote(proof.checkpoint);
  const mine = note.signatures.filter((s) => s.name === key.name && s.keyId === key.keyId);
  if (mine.length === 0) {
    const by = note.signatures.map((s) => `${s.name}+${s.keyId}`).join(', ');
    fail(`checkpoint is not signed by the pinned key ${key.name}+${key.keyId} (it is signed by ${by})`);
  }
  for (const s of mine) {
    let ok = false;
    try {
      ok = await ed25519Verify(key.publicKey, utf8.encode(note.text), s.signature);
    } catch {
      ok = false;
    }
    if (!ok) fail(`invalid signature from the pinned key ${key.name}+${key.keyId}`);
  }
  const cp = parseCheckpointBody(note.text);
  if (cp.origin !== key.name) {
    fail(`checkpoint origin "${cp.origin}" does not match the log key name "${key.name}"`);
  }
  if (proof.index >= cp.size) {
    fail(`leaf index ${proof.index} is outside the checkpoint's tree of size ${cp.size}`);
  }
  const lh = await leafHash(proof.extra);
  try {
    await verifyInclusion(lh, proof.index, cp.size, proof.inclusion, cp.root);
  } catch (e) {
    fail(`the leaf is not in the tree at index ${proof.index}: ${e.message}`);
  }
  let leafText = null;
  try {
    leafText = strictUtf8.decode(proof.extra);
  } catch {
    leafText = null;
  }
  return {
    leaf: proof.extra,
    leafText,
    leafHash: toHex(lh),
    // The spelling the server's JSON API and checkpoints use.
    leafHashBase64: encodeBase64(lh),
    index: proof.index.toString(),
    checkpoint: { origin: cp.origin, size: cp.size.toString(), root: encodeBase64(cp.root) },
    key: `${key.name}+${key.keyId}`,
    // What computed the hashes and checked the signature.
    crypto: { ...info },
  };
}
