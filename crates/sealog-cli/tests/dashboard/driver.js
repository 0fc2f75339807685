// Helpers for the dashboard's end-to-end tests (cdp.rs prepends this file to every script it
// runs in the page). They only read the DOM and wait; clicks and typing are real input events
// sent by the test over the DevTools protocol.
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const main = () => document.getElementById('main');
/** The text of the page's main area. */
const text = () => (main() ? main().textContent : '');

/** Polls `pred` until it returns something truthy (and returns it), or fails naming `what`. */
async function waitFor(pred, what, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    let v;
    try {
      v = pred();
    } catch {
      v = false;
    }
    if (v) return v;
    if (Date.now() > end) {
      throw new Error(`timed out after ${ms} ms waiting for ${what}; the page shows: ${text()}`);
    }
    await sleep(25);
  }
}

/** Waits until the main area's text contains `s`; returns that text. */
const waitText = (s, ms) => waitFor(() => text().includes(s) && text(), JSON.stringify(s), ms);

/** The one element matching `sel` (optionally whose trimmed text is `label`), or an error. */
function el(sel, label) {
  const all = [...document.querySelectorAll(sel)];
  const found = label === undefined ? all[0] : all.find((e) => e.textContent.trim() === label);
  if (!found) throw new Error(`no ${sel}${label === undefined ? '' : ` "${label}"`}; the page shows: ${text()}`);
  return found;
}

/** Marks the page now shown, so that `fresh()` can wait for the one that replaces it. */
function markStale() {
  const v = main().firstElementChild;
  if (v) v.dataset.testStale = '1';
}

/** Waits until the page marked by `markStale()` has been replaced. */
const fresh = () => waitFor(() => {
  const v = main().firstElementChild;
  return v && !v.dataset.testStale;
}, 'the next page');

/** Rows of the events table, as arrays of cell texts. */
const rows = () => [...document.querySelectorAll('table.events tbody tr')]
  .map((tr) => [...tr.cells].map((c) => c.textContent));

/**
 * What an injection would leave behind: event-handler attributes, elements the app never
 * creates in the body, scripts other than the app's, javascript: links; plus the markers the
 * hostile payloads set, CSP violations and uncaught errors recorded since the page loaded.
 */
function inspect(label) {
  const suspicious = [...document.querySelectorAll('*')].filter((e) =>
    [...e.attributes].some((a) => a.name.toLowerCase().startsWith('on'))
    || (['IMG', 'IFRAME', 'OBJECT', 'EMBED', 'BASE', 'META', 'LINK', 'STYLE', 'SCRIPT'].includes(e.tagName)
      && !e.closest('head'))
    || (e.tagName === 'SCRIPT' && e.getAttribute('src') !== '/assets/app.js')
    || (e.hasAttribute('href') && !e.closest('head') && !/^[/#]/.test(e.getAttribute('href'))))
    .map((e) => e.outerHTML.slice(0, 200));
  return {
    label,
    title: document.title,
    pwned: window.__pwned === undefined ? null : String(window.__pwned),
    text: text(),
    suspicious,
    violations: [...window.__violations],
    errors: [...window.__errors],
  };
}

/** Resolves with the next `sealog:page` measure the app records (when a page shows its data). */
const nextMeasure = () => new Promise((resolve) => {
  const po = new PerformanceObserver((list) => {
    const m = list.getEntries().find((e) => e.name === 'sealog:page');
    if (m) {
      po.disconnect();
      resolve(m);
    }
  });
  po.observe({ type: 'measure' });
});

/** Resolves with `performance.now()` once the next frame has been drawn (two animation frames). */
const nextPaint = () => new Promise((resolve) => {
  requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now())));
});

/** The API requests made since `t` (ms on the page's clock), slowest first: [path, ms]. */
const apiSince = (t) => performance.getEntriesByType('resource')
  .filter((r) => r.startTime >= t && new URL(r.name).pathname.startsWith('/v1/'))
  .sort((a, b) => b.duration - a.duration)
  .map((r) => [new URL(r.name).pathname.replace(/^\/v1\/logs\/[^/]+/, '…') + new URL(r.name).search, Math.round(r.duration)]);
