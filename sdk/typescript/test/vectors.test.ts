/** Conformance with spec/vectors: canonical bytes, leaf hashes, commitments, receipts, redaction. */
import assert from "node:assert/strict";
import { createHash, createHmac, generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { canonicalJson, canonicalString, parseJsonStrict, checkCommitment, commit, commitBytes, payloadCommitment, parseLogKey, parseTlogProof, Receipt, Redactor, verifyReceipt, VerificationError } from "../src/index.js";
import { formatTsMicros } from "../src/event.js";

const VECTORS = new URL("../../../../spec/vectors/", import.meta.url);
const load = <T>(name: string): T => JSON.parse(readFileSync(new URL(`${name}.json`, VECTORS), "utf8")) as T;

interface EventVector { name: string; input: string; canonical: string; origin: string; received_unix_micros: number; leaf: string; leaf_hash: string }
interface CommitmentVector { key_hex: string; commitment: string; size: number; value?: unknown; canonical?: string; data_base64?: string }
interface ReceiptVectors { log_vkey: string; valid: { name: string; receipt: string; leaf_hash: string }[]; invalid: { name: string; receipt: string }[] }

const EVENTS = load<{ valid: EventVector[]; invalid: { name: string; input: string }[] }>("events");
const COMMITMENTS = load<CommitmentVector[]>("commitments");
const RECEIPTS = load<ReceiptVectors>("receipts");
const REDACTION = load<{ cases: { text: string; redacted: string; found: string[] }[] }>("redaction");

for (const vec of REDACTION.cases) {
  test(`redaction vector ${JSON.stringify(vec.text)}`, () => {
    assert.deepEqual(new Redactor().redact(vec.text), [vec.redacted, vec.found]);
  });
}

for (const vec of EVENTS.valid) {
  test(`event vector ${vec.name}: canonical bytes, leaf bytes and leaf hash`, () => {
    const event = parseJsonStrict(vec.input);
    assert.deepEqual(canonicalJson(event), Buffer.from(vec.canonical, "utf8"));
    const received = formatTsMicros(BigInt(vec.received_unix_micros));
    const leaf = canonicalJson({ v: 1, log: vec.origin, received, event });
    assert.equal(leaf.toString("utf8"), vec.leaf);
    assert.equal(createHash("sha256").update(Buffer.concat([Buffer.of(0), leaf])).digest("hex"), vec.leaf_hash);
  });
}

test("the strict parser refuses duplicate member names", () => {
  const dup = EVENTS.invalid.find((v) => v.name === "duplicate-key");
  assert.ok(dup);
  assert.throws(() => parseJsonStrict(dup.input), /^Error: invalid JSON: duplicate key "id" at offset /);
  assert.throws(() => JSON.stringify(parseJsonStrict('{"a":1} x')), /trailing data/);
});

test("integers beyond 2^53 − 1 and non-finite numbers have no canonical form", () => {
  assert.throws(() => parseJsonStrict('{"n":9007199254740993}'), /9007199254740993 exceeds safe integer domain/);
  assert.throws(() => canonicalJson({ n: 9007199254740993n }), /exceeds safe integer domain/);
  assert.equal(canonicalString({ n: 9007199254740991n }), '{"n":9007199254740991}');
  assert.throws(() => canonicalJson({ n: NaN }), /NaN is not a JSON number/);
  assert.throws(() => canonicalJson([Infinity]), /Infinity is not a JSON number/);
});

test("RFC 8785: key order by UTF-16 code units, number forms, escapes, lone surrogates", () => {
  // U+FB33 sorts after U+1F600 in UTF-16 (0xFB33 > 0xD83D), before it in code points.
  assert.equal(canonicalString({ "\u{1F600}": 1, "\uFB33": 2, "\u20AC": 3, a: 4 }), '{"a":4,"€":3,"😀":1,"דּ":2}');
  assert.equal(canonicalString([-0, 1e21, 1e-7, 0.1 + 0.2, 5e-324, 123456789012345680000]), "[0,1e+21,1e-7,0.30000000000000004,5e-324,123456789012345680000]");
  assert.equal(canonicalString("\u0000\b\t\n\f\r\u001f\"\\/\u007f\u2028"), '"\\u0000\\b\\t\\n\\f\\r\\u001f\\"\\\\/\u007f\u2028"');
  assert.throws(() => canonicalJson("a\uD800b"), /lone surrogate/);
  assert.throws(() => canonicalJson({ "\uDC00": 1 }), /lone surrogate/);
  assert.throws(() => canonicalJson(new Date(0)), /only plain objects/);
});

for (const vec of COMMITMENTS) {
  test(`commitment vector ${vec.commitment.slice(12, 24)}`, () => {
    const key = Buffer.from(vec.key_hex, "hex");
    if (vec.data_base64 !== undefined) {
      const data = Buffer.from(vec.data_base64, "base64");
      assert.equal(commitBytes(data, key), vec.commitment);
      assert.equal(commit(data, key), vec.commitment);
      assert.deepEqual(payloadCommitment(data, key, "image/png"), { commitment: vec.commitment, size: vec.size, media_type: "image/png" });
      assert.ok(checkCommitment(data, vec.commitment, key));
      return;
    }
    assert.equal(canonicalString(vec.value), vec.canonical);
    assert.equal(commit(vec.value, key), vec.commitment);
    assert.equal(commit(vec.value, vec.key_hex), vec.commitment);
    const p = payloadCommitment(vec.value, key);
    assert.deepEqual(p, { commitment: vec.commitment, size: vec.size });
    assert.ok(checkCommitment(vec.value, vec.commitment, key));
    assert.ok(checkCommitment(vec.value, p, key));
    assert.ok(!checkCommitment([vec.value], vec.commitment, key));
    assert.ok(!checkCommitment(vec.value, vec.commitment, Buffer.alloc(32, 1)));
  });
}

test("commitments equal the standard HMAC-SHA-256 on both sides of the block size", () => {
  for (const keyLen of [16, 32, 63, 64, 65, 200]) {
    const key = Buffer.from(Array.from({ length: keyLen }, (_, i) => i));
    for (const size of [0, 1, 55, 56, 64, 65, 2048]) {
      const data = Buffer.from(Array.from({ length: size }, (_, i) => i % 251));
      assert.equal(commitBytes(data, key), "hmac-sha256:" + createHmac("sha256", key).update(data).digest("base64"));
    }
  }
  assert.throws(() => commit("x", Buffer.from("short")), /^Error: commitment keys must be at least 16 bytes$/);
});

for (const vec of RECEIPTS.valid) {
  test(`valid receipt vector ${vec.name}`, async () => {
    const v = await verifyReceipt(vec.receipt, RECEIPTS.log_vkey);
    assert.equal(Buffer.from(v.leafHash).toString("hex"), vec.leaf_hash);
    assert.equal(v.checkpoint.origin, "sealog.example/default");
    assert.equal(v.entry.v, 1);
    const r = new Receipt(String(v.entry.event["id"]), "accepted", Number(v.index), Buffer.from(vec.leaf_hash, "hex").toString("base64"), vec.receipt);
    assert.equal((await r.verify(RECEIPTS.log_vkey)).index, v.index);
    assert.equal((await r.verify(await parseLogKey(RECEIPTS.log_vkey))).index, v.index);
  });
}

// Why each invalid vector must fail: refused for another reason, the verifier would be
// checking something other than what the vector breaks.
const NOT_TO_ROOT = /^inclusion proof does not lead to the checkpoint root$/;
const INVALID: Record<string, RegExp> = {
  "edited-leaf": NOT_TO_ROOT,
  "wrong-index": NOT_TO_ROOT,
  "flipped-proof-hash": NOT_TO_ROOT,
  "signed-by-another-key": /^signed note: not signed by the pinned key$/,
  "index-beyond-tree": NOT_TO_ROOT,
};

for (const vec of RECEIPTS.invalid) {
  test(`invalid receipt vector ${vec.name} is refused`, async () => {
    const want = INVALID[vec.name];
    assert.ok(want, `no expected error for ${vec.name}`);
    await assert.rejects(verifyReceipt(vec.receipt, RECEIPTS.log_vkey), (e: unknown) => e instanceof VerificationError && want.test(e.message));
  });
}

test("a receipt about another event, or with another leaf hash, or without a proof, is refused", async () => {
  const vec = RECEIPTS.valid[0];
  assert.ok(vec);
  const v = await verifyReceipt(vec.receipt, RECEIPTS.log_vkey);
  const other = new Receipt("0190b3a4-8d0e-7cc1-9a53-000000000000", "accepted", undefined, undefined, vec.receipt);
  await assert.rejects(other.verify(RECEIPTS.log_vkey), /^VerificationError: proof is about another event$/);
  const wrongLeaf = new Receipt(String(v.entry.event["id"]), "accepted", undefined, Buffer.alloc(32).toString("base64"), vec.receipt);
  await assert.rejects(wrongLeaf.verify(RECEIPTS.log_vkey), /^VerificationError: proof leaf differs from the acknowledged leaf hash$/);
  await assert.rejects(new Receipt("x", "accepted").verify(RECEIPTS.log_vkey), /^VerificationError: receipt has no proof/);
});

function vkeyFor(name: string, raw: Buffer): string {
  const hash = createHash("sha256").update(Buffer.concat([Buffer.from(`${name}\n`), Buffer.of(1), raw])).digest().subarray(0, 4).toString("hex");
  return `${name}+${hash}+${Buffer.concat([Buffer.of(1), raw]).toString("base64")}`;
}

test("log keys: malformed, mismatched, non-canonical and small-order keys are refused", async () => {
  const cases: [string, RegExp][] = [
    ["", /^log key: expected <name>\+<hash>\+<key>$/],
    ["nokey", /^log key: expected <name>\+<hash>\+<key>$/],
    ["a+zz+AAAA", /^log key: bad key hash$/],
    ["sealog.example/default+00000000+AYFGZA8CSTr0+8VP4zOI513CyTeuC3cnzCsq+xt1GZo+", /^log key: key hash does not match name and key$/],
    ["a+00000000+AAAA", /^log key: not an Ed25519 signed-note key$/],
  ];
  const identity = Buffer.alloc(32);
  identity[0] = 1;
  const yIsP = Buffer.alloc(32, 0xff);
  yIsP[0] = 0xed;
  yIsP[31] = 0x7f; // y = p: a non-canonical spelling of y = 0
  const order8 = Buffer.from("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85", "hex"); // sign bit set
  for (const weak of [identity, yIsP, order8]) cases.push([vkeyFor("weak.example/log", weak), /^log key: Ed25519 public key is non-canonical or of small order$/]);
  for (const [bad, want] of cases) {
    await assert.rejects(parseLogKey(bad), (e: unknown) => e instanceof VerificationError && want.test(e.message), bad);
  }
});

test("a well-formed key for another origin never verifies the checkpoint", async () => {
  const vec = RECEIPTS.valid[0];
  assert.ok(vec);
  const jwk = generateKeyPairSync("ed25519").publicKey.export({ format: "jwk" });
  const raw = Buffer.from(jwk.x ?? "", "base64url");
  await assert.rejects(verifyReceipt(vec.receipt, vkeyFor("evil.example/default", raw)), /^VerificationError: signed note: not signed by the pinned key$/);
});

test("a signature with S ≥ L is refused though WebCrypto might accept it", async () => {
  const vec = RECEIPTS.valid[0];
  assert.ok(vec);
  // Add L to S (the last 32 bytes of the signature): the same signature, non-canonically.
  const lines = vec.receipt.split("\n");
  const sigIdx = lines.findIndex((l) => l.startsWith("\u2014 "));
  const sigLine = lines[sigIdx] ?? "";
  const space = sigLine.lastIndexOf(" ");
  const raw = Buffer.from(sigLine.slice(space + 1), "base64");
  let s = 0n;
  for (let i = 67; i >= 36; i--) s = (s << 8n) | BigInt(raw[i] ?? 0);
  s += (1n << 252n) + 27742317777372353535851937790883648493n;
  for (let i = 36; i < 68; i++) {
    raw[i] = Number(s & 0xffn);
    s >>= 8n;
  }
  lines[sigIdx] = sigLine.slice(0, space + 1) + raw.toString("base64");
  await assert.rejects(verifyReceipt(lines.join("\n"), RECEIPTS.log_vkey), /^VerificationError: signed note: invalid signature by the pinned key$/);
});

test("malformed tlog-proofs are refused for the reason they are malformed", async () => {
  const cases: [string, RegExp][] = [
    ["", /^tlog-proof: missing checkpoint$/],
    ["not-a-proof\nindex 0\n\nx\n", /^tlog-proof: bad header$/],
    ["c2sp.org/tlog-proof@v1\nindex x\n\nnote\n", /^tlog-proof: bad index$/],
    ["c2sp.org/tlog-proof@v1\nindex 0\nAAAA\n\nnote\n", /^tlog-proof: proof hash is not 32 bytes$/],
    ["c2sp.org/tlog-proof@v1\nindex 0\n", /^tlog-proof: missing checkpoint$/],
  ];
  for (const [text, want] of cases) {
    assert.throws(() => parseTlogProof(text), (e: unknown) => e instanceof VerificationError && want.test(e.message));
    await assert.rejects(verifyReceipt(text, RECEIPTS.log_vkey), (e: unknown) => e instanceof VerificationError && want.test(e.message));
  }
});
