// Drives the real dashboard in a popup (same origin, so its DOM is readable here) against a
// server that lies: it signs in, pins the log key, opens each event of /test/config.json and
// posts the text of its inclusion-proof box to /test/result.
const report = (body) => fetch('/test/result', { method: 'POST', body: JSON.stringify(body) });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(w, pred, what) {
  for (let i = 0; i < 300; i++) {
    try {
      const box = w.document.querySelector('section.proof');
      if (box && pred(box.textContent)) return box.textContent;
    } catch {
      // The popup is still navigating.
    }
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}; page shows: ${w.document && w.document.body && w.document.body.textContent}`);
}

try {
  const cfg = await (await fetch('/test/config.json')).json();
  for (const log of cfg.logs) localStorage.setItem(`sealog.pin.${log}`, cfg.vkey);
  const res = await fetch('/ui/session', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ api_key: 'admin-key' }),
  });
  if (!res.ok) throw new Error(`sign-in failed: ${res.status}`);
  const seen = {};
  let w = null;
  for (const [label, path] of Object.entries(cfg.events)) {
    if (w) w.location.hash = `#/logs/${path}`;
    else w = window.open(`/#/logs/${path}`, 'dash');
    if (!w) throw new Error('popup blocked');
    // Each page replaces the proof box; wait for this event's (its id is in the heading).
    const id = path.split('/').pop();
    seen[label] = await waitFor(w, (t) => w.document.querySelector('main h2').textContent === id
      && /verified|Verified/.test(t) && !t.includes('Checking'), label);
  }
  await report({ seen });
} catch (e) {
  await report({ fatal: String(e && e.stack || e) });
}
