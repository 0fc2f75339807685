// Runs assets/verify.js over the cases served at /test/cases.json and posts one verdict per
// case to /test/result: {name, ok, leafHash?, error?}.
import { verifyReceipt, VerifyError } from '/assets/verify.js';

const report = (body) => fetch('/test/result', { method: 'POST', body: JSON.stringify(body) });

try {
  const cases = await (await fetch('/test/cases.json')).json();
  const out = [];
  for (const c of cases) {
    const bytes = Uint8Array.from(atob(c.receipt_b64), (ch) => ch.charCodeAt(0));
    try {
      const r = await verifyReceipt(bytes, c.vkey);
      out.push({ name: c.name, ok: true, leafHash: r.leafHash, index: r.index });
    } catch (e) {
      out.push({ name: c.name, ok: false, error: String(e.message), typed: e instanceof VerifyError });
    }
  }
  await report({ results: out });
} catch (e) {
  await report({ fatal: String(e && e.stack || e) });
}
