// Runs assets/verify.js over the cases served at /test/cases.json, once per crypto mode named
// in ?modes= (verify.js's useCrypto: auto, webcrypto, js), and posts every verdict to
// /test/result:
//   {secure, subtle, runs: [{mode, info | infoError, receipts, inclusion, signatures, leafHashes}], raw}
// `raw` holds what noble's own verify() and a bare WebCrypto call say about the signature
// cases, without verify.js's rules (the test shows those rules are what makes the difference).
import {
  verifyReceipt, verifyInclusion, leafHash, parseVkey, ed25519Verify, useCrypto, cryptoInfo,
  VerifyError, toHex,
} from '/assets/verify.js';

const report = (body) => fetch('/test/result', { method: 'POST', body: JSON.stringify(body) });
const bytes = (b64) => Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
const refusal = (e) => ({ ok: false, error: String(e && e.message), typed: e instanceof VerifyError });

async function signatureVerdict(c) {
  try {
    const key = await parseVkey(c.vkey);
    return { ok: await ed25519Verify(key.publicKey, bytes(c.message_b64), bytes(c.signature_b64)) };
  } catch (e) {
    return refusal(e);
  }
}

// 'auto-without-ed25519': auto, in a browser whose WebCrypto has SHA-256 but no Ed25519 (as
// browsers before 2025 had), by refusing Ed25519 keys the way those browsers do.
function withoutEd25519() {
  const subtle = crypto.subtle;
  const importKey = subtle.importKey.bind(subtle);
  subtle.importKey = (format, key, alg, ...rest) => (alg && alg.name === 'Ed25519'
    ? Promise.reject(new DOMException('Unrecognized name.', 'NotSupportedError'))
    : importKey(format, key, alg, ...rest));
  return () => {
    delete subtle.importKey;
  };
}

async function run(mode, cases) {
  const restore = mode === 'auto-without-ed25519' ? withoutEd25519() : () => {};
  try {
    return await runIn(mode, cases);
  } finally {
    restore();
  }
}

async function runIn(mode, cases) {
  useCrypto(mode === 'auto-without-ed25519' ? 'auto' : mode);
  const out = { mode, receipts: [], inclusion: [], signatures: [], leafHashes: [] };
  try {
    out.info = await cryptoInfo();
  } catch (e) {
    out.infoError = String(e.message);
  }
  for (const c of cases.receipts) {
    try {
      const r = await verifyReceipt(bytes(c.receipt_b64), c.vkey);
      out.receipts.push({ name: c.name, ok: true, leafHash: r.leafHash, index: r.index, crypto: r.crypto });
    } catch (e) {
      out.receipts.push({ name: c.name, ...refusal(e) });
    }
  }
  for (const c of cases.inclusion) {
    try {
      await verifyInclusion(bytes(c.leafHash), BigInt(c.index), BigInt(c.size), c.proof.map(bytes), bytes(c.root));
      out.inclusion.push({ name: c.name, ok: true });
    } catch (e) {
      out.inclusion.push({ name: c.name, ...refusal(e) });
    }
  }
  for (const c of cases.signatures) out.signatures.push({ name: c.name, ...(await signatureVerdict(c)) });
  for (const leaf of cases.leaves) {
    try {
      out.leafHashes.push(toHex(await leafHash(bytes(leaf))));
    } catch (e) {
      out.leafHashes.push(`error: ${e.message}`);
    }
  }
  return out;
}

async function raw(cases) {
  const ed = await import('/assets/vendor/noble-ed25519/index.js');
  const { sha512 } = await import('/assets/vendor/noble-hashes/sha2.js');
  ed.hashes.sha512 = sha512;
  const subtle = globalThis.crypto && crypto.subtle;
  const out = [];
  for (const c of cases.signatures) {
    const pub = bytes(c.vkey.split('+').slice(2).join('+')).slice(1);
    const msg = bytes(c.message_b64);
    const sig = bytes(c.signature_b64);
    let cofactored;
    try {
      cofactored = ed.verify(sig, msg, pub, { zip215: false });
    } catch {
      cofactored = false;
    }
    let webcrypto = null;
    if (subtle) {
      try {
        const key = await subtle.importKey('raw', pub, { name: 'Ed25519' }, false, ['verify']);
        webcrypto = await subtle.verify({ name: 'Ed25519' }, key, sig, msg);
      } catch {
        webcrypto = false;
      }
    }
    out.push({ name: c.name, cofactored, webcrypto });
  }
  return out;
}

try {
  const cases = await (await fetch('/test/cases.json')).json();
  const modes = new URLSearchParams(location.search).get('modes').split(',');
  const runs = [];
  for (const m of modes) runs.push(await run(m, cases));
  await report({
    secure: globalThis.isSecureContext,
    subtle: typeof (globalThis.crypto && crypto.subtle),
    runs,
    raw: await raw(cases),
  });
} catch (e) {
  await report({ fatal: String(e && e.stack || e) });
}
