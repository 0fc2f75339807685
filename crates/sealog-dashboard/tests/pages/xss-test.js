// Drives the real dashboard in a popup (same origin, so its DOM is readable here): signs in
// through /ui/session, visits the events list, two event details and a session, and posts
// what it saw to /test/result.
const report = (body) => fetch('/test/result', { method: 'POST', body: JSON.stringify(body) });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(w, pred, what) {
  for (let i = 0; i < 300; i++) {
    try {
      if (w.document && w.document.getElementById('main') && pred(w.document.getElementById('main').textContent)) return;
    } catch {
      // The popup is still navigating.
    }
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}; page shows: ${w.document && w.document.body && w.document.body.textContent}`);
}

function inspect(w, label, violations) {
  const d = w.document;
  const suspicious = [...d.querySelectorAll('*')].filter((el) =>
    [...el.attributes].some((a) => a.name.toLowerCase().startsWith('on'))
    || ['IMG', 'IFRAME', 'OBJECT', 'EMBED', 'BASE', 'META', 'LINK', 'STYLE'].includes(el.tagName) && !el.closest('head')
    || (el.tagName === 'SCRIPT' && el.getAttribute('src') !== '/assets/app.js')
    || (el.tagName === 'A' && /^\s*javascript:/i.test(el.getAttribute('href') || '')))
    .map((el) => el.outerHTML.slice(0, 200));
  return {
    label,
    title: d.title,
    pwned: w.__pwned === undefined ? null : String(w.__pwned),
    text: d.getElementById('main').textContent,
    suspicious,
    violations: [...violations],
  };
}

try {
  const cfg = await (await fetch('/test/config.json')).json();
  localStorage.setItem('sealog.pin.demo', cfg.vkey);
  const res = await fetch('/ui/session', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ api_key: 'read-key' }),
  });
  if (!res.ok) throw new Error(`sign-in failed: ${res.status}`);
  const w = window.open('/#/logs/demo', 'dash');
  if (!w) throw new Error('popup blocked');
  const seen = [];
  await waitFor(w, (t) => t.includes(cfg.hostile_id), 'the events list');
  const violations = [];
  w.document.addEventListener('securitypolicyviolation', (e) => violations.push(`${e.violatedDirective}: ${e.sample}`));
  await sleep(300);
  seen.push(inspect(w, 'events', violations));

  w.location.hash = `#/logs/demo/events/${cfg.hostile_id}`;
  await waitFor(w, (t) => t.includes('Proof verified, but') || t.includes('Not verified'), 'the hostile event');
  await sleep(300);
  seen.push(inspect(w, 'hostile-detail', violations));

  w.location.hash = `#/logs/demo/events/${cfg.good_id}`;
  await waitFor(w, (t) => t.includes('Verified: entry') || t.includes('Not verified'), 'the good event');
  seen.push(inspect(w, 'good-detail', violations));

  w.location.hash = `#/logs/demo/sessions/${encodeURIComponent(cfg.session_id)}`;
  await waitFor(w, (t) => t.includes('Span tree'), 'the session');
  await sleep(300);
  seen.push(inspect(w, 'session', violations));

  w.location.hash = `#/logs/demo/export?agent=${encodeURIComponent(cfg.agent)}`;
  await waitFor(w, (t) => t.includes('sealog verify pack.zip'), 'the export page');
  const a = [...w.document.querySelectorAll('a')].find((x) => x.textContent.includes('Download evidence pack'));
  seen.push({ ...inspect(w, 'export', violations), exportHref: a && a.getAttribute('href') });
  await report({ seen, openerTitle: document.title });
} catch (e) {
  await report({ fatal: String(e && e.stack || e) });
}
