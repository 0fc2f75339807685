// Sealog dashboard: a small single-page app with hash routes.
//   #/                          logs overview
//   #/logs/{log}?filters        events explorer
//   #/logs/{log}/events/{id}    event detail + in-browser receipt check
//   #/logs/{log}/sessions/{id}  session timeline and span tree
//   #/logs/{log}/export         evidence-pack export
//   #/logs/{log}/keys           API keys (admins)
//   #/logs/{log}/approvals      held calls waiting for a reviewer (admins)
import * as api from './api.js';
import { h, s, replace, txt, lines, age, dl } from './dom.js';
import { verifyReceipt, parseVkey } from './verify.js';
import { approvalsPage } from './approvals.js';
import { witnessCell, stampCell, forkAlarms, eventAnchors } from './anchors.js';
import { incidentsPage } from './incidents.js';

const root = document.getElementById('main');
const nav = document.getElementById('nav');
const FILTERS = ['q', 'agent', 'session', 'action', 'status', 'since', 'until'];
/** What each filter's field is called, where the query parameter's name would not say it. */
const FILTER_LABELS = { q: 'search' };
const FILTER_HINTS = { q: 'tool:search_kb status:error', since: '2026-01-01T00:00:00Z', until: '2026-01-01T00:00:00Z' };
const PAGE = 100;
let me = null;
let timers = [];

/**
 * Runs `fn` every `ms` while `view` (a page's container) is on screen; a new page stops it.
 * Returns a function that stops it sooner.
 */
function every(view, ms, fn) {
  const timer = setInterval(() => {
    if (view.isConnected) fn();
    else clearInterval(timer);
  }, ms);
  timers.push(timer);
  return () => clearInterval(timer);
}

// ---- pinned log keys (per log, in localStorage: the user's own trust decision) ----
const pinKey = (log) => `sealog.pin.${log}`;
const getPin = (log) => localStorage.getItem(pinKey(log));

function route() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, query] = raw.split('?');
  const parts = path.split('/').filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  return { parts, params: new URLSearchParams(query || '') };
}

const link = (...parts) => `#/${parts.map(encodeURIComponent).join('/')}`;

function setTitle(t) {
  document.title = `${t} · Sealog`;
}

/** After a 401 (the session expired or was ended elsewhere): back to the sign-in form. */
function signedOut(e) {
  if (!(e instanceof api.ApiError && e.status === 401)) return false;
  me = null;
  render();
  return true;
}

function errorBox(e) {
  return h('p.error', { role: 'alert' }, txt(e && e.message ? e.message : e));
}

// Each render draws into a fresh container. A page still loading when the user moves on keeps
// drawing into its own container, which is no longer on screen, so it cannot overwrite the
// newer page.
async function render() {
  const started = performance.now();
  for (const t of timers) clearInterval(t);
  timers = [];
  const view = h('div', null, h('p.muted', null, 'Loading…'));
  root.replaceChildren(view);
  if (!me) me = await api.whoami().catch(() => null);
  if (!view.isConnected) return;
  renderNav();
  if (!me) return signInPage(view);
  try {
    await showPage(view);
    // The page is drawn with its data: a User Timing measure for the browser's performance
    // tools (and bench/dashboard.sh), from the start of this render.
    if (view.isConnected) {
      performance.clearMeasures('sealog:page');
      performance.measure('sealog:page', { start: started, detail: location.hash });
    }
  } catch (e) {
    if (!view.isConnected) return;
    if (e instanceof api.ApiError && e.status === 401) {
      me = null;
      renderNav();
      return signInPage(view);
    }
    replace(view, h('h1', null, 'Error'), errorBox(e));
  }
}

/** Draws the page of the current route into `view`; resolves once it shows its data. */
async function showPage(view) {
  const { parts, params } = route();
  if (parts.length === 0) return logsPage(view);
  if (parts[0] === 'logs' && parts[1]) {
    const log = parts[1];
    if (parts.length === 2) return eventsPage(view, log, params);
    if (parts[2] === 'events' && parts[3]) return eventPage(view, log, parts[3]);
    if (parts[2] === 'sessions' && parts[3]) return sessionPage(view, log, parts[3]);
    if (parts[2] === 'export') return exportPage(view, log, params);
    if (parts[2] === 'keys') return keysPage(view, log);
    if (parts[2] === 'incidents') {
      setTitle(`Incidents · ${log}`);
      return incidentsPage(view, log, { header: logHeader(log, 'Incidents'), admin: me.role === 'admin', errorBox });
    }
    if (parts[2] === 'approvals') {
      setTitle(`Approvals · ${log}`);
      const sessionLink = (id) => h('a', { href: link('logs', log, 'sessions', id) }, txt(id));
      return approvalsPage(view, log, { header: logHeader(log, 'Approvals'), errorBox, every, sessionLink });
    }
  }
  return replace(view, h('h1', null, 'Not found'), h('p', null, h('a', { href: '#/' }, 'Back to logs')));
}

function renderNav() {
  if (!me) return replace(nav);
  const scope = me.log ? `log ${me.log}` : 'all logs';
  replace(nav,
    h('a', { href: '#/' }, 'Logs'),
    h('span.who', null, `${txt(me.key_id)} · ${txt(me.role)} · ${txt(scope)}`),
    h('button', { type: 'button', onclick: async () => {
      try {
        await api.signOut();
      } finally {
        me = null;
        // Changing the hash renders (once); on the home page already, render directly.
        if (location.hash === '#/') render();
        else location.hash = '#/';
      }
    } }, 'Sign out'));
}

// ---- sign-in ----
function signInPage(main) {
  setTitle('Sign in');
  const input = h('input', { id: 'api-key', type: 'password', name: 'api_key', autocomplete: 'off', required: true });
  const msg = h('p.error', { role: 'alert' });
  const form = h('form.card.signin', { method: 'post', action: '/ui/session', onsubmit: async (ev) => {
    ev.preventDefault();
    msg.textContent = '';
    try {
      me = await api.signIn(input.value);
      input.value = '';
      render();
    } catch (e) {
      msg.textContent = e.message;
    }
  } },
  h('h1', null, 'Sign in'),
  h('label', { for: 'api-key' }, 'API key (read or admin)'),
  input,
  h('button', { type: 'submit' }, 'Sign in'),
  msg,
  h('p.muted', null, 'The key is sent once; the browser then holds only an HttpOnly session cookie.'));
  replace(main, form);
  input.focus();
}

// ---- logs overview ----
// The API reports each log's size; the page measures the ingest rate as the growth between
// its refreshes.
const REFRESH_MS = 5000;
const samples = new Map();

const perSecond = (r) => `${r >= 10 ? Math.round(r) : Math.max(r, 0).toFixed(1)}/s`;

function ingestRate(l, now) {
  if (l.ingestRate !== undefined && l.ingestRate !== null) return `${txt(l.ingestRate)}/s`;
  if (typeof l.size !== 'number') return '';
  const prev = samples.get(l.name);
  if (prev && now - prev.t < 1000) return prev.shown;
  const shown = prev ? perSecond((l.size - prev.size) / ((now - prev.t) / 1000)) : 'measuring…';
  samples.set(l.name, { size: l.size, t: now, shown });
  return shown;
}

// [heading, numeric]
const LOG_COLUMNS = [['Log', false], ['Events', true], ['Checkpoint size', true], ['Last checkpoint', false],
  ['Index lag', true], ['Ingest rate', true], ['Witnesses', false], ['Time-stamp', false], ['Log key', false]];

async function logsPage(main) {
  setTitle('Logs');
  const tbody = h('tbody');
  const footer = h('p.muted', { role: 'status' });
  const damaged = h('div.damaged-logs', { role: 'alert' });
  const forks = h('div.fork-alarms');
  // Rows stay in place across refreshes (only their cells change), so focus and selection
  // survive them.
  let shownNames = null;
  const cells = new Map();
  const refresh = async () => {
    let list;
    try {
      list = await api.logs();
    } catch (e) {
      // A key scoped to one log may not list logs; show its own.
      if (me.log) list = [{ name: me.log }];
      else throw e;
    }
    replace(damaged, (list.damaged || []).map((d) =>
      h('p.bad', null, `Log ${txt(d.name)} could not be opened and is not served: ${txt(d.error)}`)));
    // `GET /v1/logs` lists full summaries; only bare names need a second request.
    const shown = await Promise.all(list.slice(0, 50).map((l) =>
      (l.size === undefined ? api.log(l.name).catch(() => l) : l)));
    replace(forks, forkAlarms(shown));
    const names = JSON.stringify(shown.map((l) => l.name));
    if (names !== shownNames) {
      shownNames = names;
      cells.clear();
      replace(tbody, shown.map((l) => {
        const tds = LOG_COLUMNS.slice(1).map(([, numeric]) => h(numeric ? 'td.num' : 'td'));
        cells.set(l.name, tds);
        return h('tr', null, h('td', null, h('a', { href: link('logs', l.name) }, txt(l.name))), tds);
      }));
    }
    const now = Date.now();
    for (const l of shown) {
      const [size, cpSize, cpTime, lag, rate, witnesses, stamp, pin] = cells.get(l.name);
      const cp = l.checkpoint || {};
      replace(size, txt(l.size ?? ''));
      replace(cpSize, txt(cp.size ?? ''));
      replace(cpTime, cp.time ? h('time', null, `${txt(cp.time)} (${age(cp.time)})`) : '');
      replace(lag, txt(l.indexLag ?? ''), l.indexError ? h('span.bad', null, ` ${txt(l.indexError)}`) : null);
      replace(rate, ingestRate(l, now));
      replace(witnesses, witnessCell(l));
      replace(stamp, stampCell(l));
      replace(pin, getPin(l.name) ? 'pinned' : h('span.warn', null, 'not pinned'));
    }
    footer.textContent = `${list.length > 50 ? `Showing 50 of ${list.length} logs. ` : ''}Refreshed ${new Date(now).toLocaleTimeString()}; updates every ${REFRESH_MS / 1000} s.`;
  };
  await refresh();
  replace(main,
    h('h1', null, 'Logs'),
    forks,
    damaged,
    h('div.scroll', null, h('table.logs', null,
      h('thead', null, h('tr', null, LOG_COLUMNS.map(([c, numeric]) => h(numeric ? 'th.num' : 'th', { scope: 'col' }, c)))),
      tbody)),
    footer);
  every(main, REFRESH_MS, () => refresh().catch((e) => {
    if (signedOut(e)) return;
    footer.textContent = `Refresh failed: ${e.message}`;
  }));
}

// ---- shared bits ----
function logHeader(log, current) {
  const tabs = [['Events', link('logs', log)], ['Export', `${link('logs', log)}/export`], ['Incidents', `${link('logs', log)}/incidents`]];
  if (me.role === 'admin') tabs.push(['Keys', `${link('logs', log)}/keys`], ['Approvals', `${link('logs', log)}/approvals`]);
  return [
    h('h1', null, txt(log)),
    h('nav.tabs', { 'aria-label': 'Log sections' }, tabs.map(([name, href]) =>
      h('a', { href, 'aria-current': name === current ? 'page' : null }, name))),
  ];
}

function pinPanel(log, info, onChange) {
  const box = h('div.pin');
  // Drawn again after every change, so the summary and buttons always match the pin.
  const draw = (afterChange, message) => {
    const current = getPin(log);
    const input = h('input', { type: 'text', value: current || '', spellcheck: 'false', 'aria-label': 'Log key (vkey)', placeholder: 'name+keyid+base64key' });
    const msg = h('p', { role: 'status' }, message || '');
    const summary = h('summary', null, current ? `Pinned log key: ${txt(current)}` : 'Pin this log\'s key to check proofs');
    const changed = (text) => {
      draw(true, text);
      if (onChange) onChange();
    };
    const save = async () => {
      const value = input.value.trim();
      try {
        const k = await parseVkey(value);
        localStorage.setItem(pinKey(log), value);
        changed(`Pinned ${k.name}+${k.keyId}.`);
      } catch (e) {
        msg.textContent = e.message;
      }
    };
    replace(box, h('details.card', { open: afterChange || !current ? true : null },
      summary,
      h('p.muted', null, 'Paste the log key you obtained from the operator out of band. Proofs are checked against this key only; a key offered by the server proves nothing about that server.'),
      input,
      h('div.row', null,
        h('button', { type: 'button', onclick: save }, 'Pin key'),
        info && info.vkey && !current ? h('button', { type: 'button', onclick: () => {
          input.value = info.vkey;
        } }, 'Fill in the key the server reports') : null,
        current ? h('button', { type: 'button', onclick: () => {
          localStorage.removeItem(pinKey(log));
          changed('Unpinned.');
        } }, 'Unpin') : null),
      msg));
    if (afterChange) summary.focus();
  };
  draw(false, '');
  return box;
}

function filtersFrom(params) {
  const f = {};
  for (const k of FILTERS) if (params.get(k)) f[k] = params.get(k);
  return f;
}

function filterForm(f, onSubmit, submitLabel) {
  const fields = FILTERS.map((k) => {
    const id = `f-${k}`;
    return h('div.field', null, h('label', { for: id }, FILTER_LABELS[k] || k),
      h('input', { id, name: k, value: f[k] || '', placeholder: FILTER_HINTS[k] || '' }));
  });
  const form = h('form.filters', { onsubmit: (ev) => {
    ev.preventDefault();
    const out = {};
    for (const k of FILTERS) {
      const v = form.elements[k].value.trim();
      if (v) out[k] = v;
    }
    onSubmit(out);
  } }, fields, h('button', { type: 'submit' }, submitLabel));
  return form;
}

const ev = (row) => row.event || {};
const when = (row) => ev(row).ts || row.received;

function statusBadge(status) {
  const cls = status === 'ok' ? 'ok' : status === 'error' || status === 'blocked' ? 'bad' : 'neutral';
  return h(`span.badge.${cls}`, null, txt(status));
}

function isFlagged(e) {
  const c = e.context || {};
  return e.action === 'policy_flag' || e.action === 'gap'
    || (Array.isArray(c.checks) && c.checks.some((x) => x && x.fired))
    || (c.metrics && Array.isArray(c.metrics.anomaly_flags) && c.metrics.anomaly_flags.length > 0);
}
const isOversight = (e) => e.action === 'human_oversight' || Boolean(e.context && e.context.oversight);

/** `n` and the noun that goes with it: `1 event`, `2 events`. */
const count = (n, one, many) => `${n} ${n === 1 ? one : many}`;

/** A value of an event that is worth a row's space: a non-empty string. */
const shown = (v) => (typeof v === 'string' && v !== '' ? v : null);

/**
 * What an auditor looks for in a row without opening the event: its model, tool, decision
 * outcome, reasons and error type, and for a review the event it reviewed (a link). Never a
 * payload, which may be committed content.
 */
function eventFacts(log, e) {
  const c = e.context && typeof e.context === 'object' ? e.context : {};
  const d = c.decision && typeof c.decision === 'object' ? c.decision : {};
  const reasons = Array.isArray(d.reason_codes) ? d.reason_codes.filter(shown) : [];
  const facts = [
    ['model', shown(c.model && c.model.id)],
    ['tool', shown(c.tool && c.tool.name)],
    ['outcome', shown(d.outcome)],
    ['reason', reasons.length ? reasons.join(', ') : null],
    ['error', shown(e.attributes && e.attributes['error.type'])],
  ].filter(([, v]) => v !== null).map(([k, v]) => [k, txt(v)]);
  const target = shown(c.oversight && c.oversight.target);
  if (target) facts.push(['reviewed', h('a', { href: link('logs', log, 'events', target) }, txt(target))]);
  return h('span.facts', null, facts.map(([k, v], i) => [i ? ' · ' : null, h('span.muted', null, `${k} `), v]));
}

// ---- events explorer ----
async function eventsPage(main, log, params) {
  setTitle(`Events · ${log}`);
  const f = filtersFrom(params);
  const info = await api.log(log).catch(() => null);
  const tbody = h('tbody');
  const chart = h('div.chart');
  const more = h('button', { type: 'button' }, 'Load more');
  const status = h('p.muted', { role: 'status' });
  const tailBox = h('input', { type: 'checkbox', id: 'tail' });
  const rows = [];
  const seen = new Set();
  let next = null;

  const addRows = (list, atTop) => {
    const fresh = list.filter((r) => !seen.has(r.id));
    fresh.forEach((r) => seen.add(r.id));
    if (atTop) rows.unshift(...fresh);
    else rows.push(...fresh);
    const trs = fresh.map(eventRow);
    if (atTop) tbody.prepend(...trs);
    else tbody.append(...trs);
    status.textContent = `${count(rows.length, 'event', 'events')} loaded${next ? '' : ' (end)'}.`;
    more.hidden = !next;
    return fresh.length;
  };

  const eventRow = (r) => {
    const e = ev(r);
    const cls = isFlagged(e) ? 'flag' : isOversight(e) ? 'oversight' : null;
    return h('tr', { class: cls },
      h('td.num', null, txt(r.index ?? '')),
      h('td', null, h('time', null, txt(when(r)))),
      h('td', null, txt(e.agent && e.agent.id)),
      h('td', null, txt(e.action)),
      h('td', null, statusBadge(e.status)),
      h('td', null, eventFacts(log, e)),
      h('td', null, e.session && e.session.id !== undefined
        ? h('a', { href: link('logs', log, 'sessions', String(e.session.id)) }, `${txt(e.session.id)} #${txt(e.session.seq)}`) : ''),
      h('td', null, h('a', { href: link('logs', log, 'events', String(r.id)) }, txt(r.id))));
  };

  // The chart counts every matching event on the server, not the rows loaded here. A filter
  // the server refuses is reported once, by the events request.
  const loadChart = async () => {
    try {
      replace(chart, drawChart(await api.histogram(log, f, CHART_BUCKETS)));
    } catch (e) {
      if (signedOut(e)) return;
      replace(chart, e instanceof api.ApiError && e.status === 400 ? null : errorBox(e));
    }
  };

  more.addEventListener('click', async () => {
    try {
      const page = await api.events(log, f, next, PAGE);
      next = page.next;
      addRows(page.events, false);
    } catch (e) {
      status.textContent = e.message;
    }
  });

  let stopTail = null;
  tailBox.addEventListener('change', () => {
    if (stopTail) {
      stopTail();
      stopTail = null;
    }
    if (!tailBox.checked) return;
    stopTail = every(main, 3000, async () => {
      try {
        const page = await api.events(log, f, null, PAGE);
        const n = addRows(page.events, true);
        if (n) {
          status.textContent = `${count(n, 'new event', 'new events')}; ${rows.length} loaded.`;
          await loadChart();
        }
      } catch (e) {
        if (!signedOut(e)) status.textContent = `Live tail: ${e.message}`;
      }
    });
  });

  const problem = h('div');
  more.hidden = true;
  replace(main,
    logHeader(log, 'Events'),
    pinPanel(log, info),
    filterForm(f, (out) => {
      location.hash = `${link('logs', log)}?${new URLSearchParams(out)}`;
    }, 'Filter'),
    problem,
    h('div.row', null, tailBox, h('label', { for: 'tail' }, 'Live tail (poll every 3 s)')),
    chart,
    h('div.scroll', null, h('table.events', null,
      h('thead', null, h('tr', null, ['Index', 'Time', 'Agent', 'Action', 'Status', 'Details', 'Session', 'Event'].map((c) => h('th', { scope: 'col' }, c)))),
      tbody)),
    status, more);
  const charted = loadChart();
  let page;
  try {
    page = await api.events(log, f, null, PAGE);
  } catch (e) {
    // A filter the server refuses (a malformed time, say): keep the form to correct it.
    if (!(e instanceof api.ApiError && e.status === 400)) throw e;
    replace(problem, errorBox(e));
    status.textContent = 'No events loaded.';
    await charted;
    return;
  }
  next = page.next;
  addRows(page.events, false);
  await charted;
}

/** Colours of the chart's series: classes `s0`…`s9` in app.css, 3:1 or more against either theme's page. */
const SERIES_COLOURS = 10;
const seriesClass = (si) => `s${si % SERIES_COLOURS}`;

/** Buckets of the events-over-time chart. */
const CHART_BUCKETS = 48;

/** A bucket width for people (the server's buckets are whole microseconds). */
const bucketWidth = (us) => (us < 1000 ? `${us} µs` : duration(us / 1000));

/**
 * Stacked bars of a histogram from the server (every matching event, by action), as SVG built
 * with DOM calls. Each bar's tooltip says its action, count and time range.
 */
function drawChart(hist) {
  const buckets = hist.edges.length - 1;
  if (!hist.total || buckets < 1) return h('p.muted', null, 'No events to chart.');
  const names = hist.series.map((x) => (x.action === null ? `other (${x.folded} actions)` : x.action));
  const totals = Array.from({ length: buckets }, (_, i) => hist.series.reduce((n, x) => n + (x.counts[i] || 0), 0));
  const maxTotal = Math.max(...totals);
  // As wide as the page (in CSS pixels), so the bars fill it and the labels keep their size.
  const W = Math.min(Math.max(root.clientWidth - 32, 320), 1200);
  const H = 140;
  const bw = W / buckets;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H + 20}`, role: 'img', 'aria-label': `Events over time by action, ${hist.total} events` });
  for (let i = 0; i < buckets; i++) {
    let y = H;
    hist.series.forEach((x, si) => {
      const n = x.counts[i] || 0;
      if (!n) return;
      const bh = (n / maxTotal) * H;
      y -= bh;
      svg.append(s('rect', { x: i * bw + 1, y, width: Math.max(bw - 2, 1), height: bh, class: seriesClass(si) },
        s('title', null, `${txt(names[si])}: ${n} (${hist.edges[i]} to ${hist.edges[i + 1]})`)));
    });
  }
  svg.append(s('text', { x: 0, y: H + 15, class: 'axis' }, hist.edges[0]));
  svg.append(s('text', { x: W, y: H + 15, class: 'axis', 'text-anchor': 'end' }, hist.edges[buckets]));
  const legend = h('ul.legend', null, hist.series.map((x, si) => {
    const sw = s('svg', { width: 12, height: 12, 'aria-hidden': 'true' }, s('rect', { width: 12, height: 12, class: seriesClass(si) }));
    return h('li', null, sw, ` ${txt(names[si])} (${x.total})`);
  }));
  return h('figure', null, svg, legend,
    h('figcaption.muted', null, `Events over time by action: all ${hist.total} matching events, in ${buckets} buckets of ${bucketWidth(hist.bucketUs)}.`),
    chartTable(hist, names, totals));
}

/** The chart's counts as a table, for keyboards and screen readers (the bars' tooltips need a pointer). */
function chartTable(hist, names, totals) {
  const head = h('tr', null, h('th', { scope: 'col' }, 'from'), names.map((n) => h('th', { scope: 'col' }, txt(n))), h('th', { scope: 'col' }, 'all'));
  const rows = totals.map((total, i) => h('tr', null, h('th', { scope: 'row' }, hist.edges[i]),
    hist.series.map((x) => h('td.num', null, String(x.counts[i] || 0))), h('td.num', null, String(total))));
  return h('details.chart-data', null, h('summary', null, 'The counts as a table'),
    h('div.scroll', null, h('table', null, h('thead', null, head), h('tbody', null, rows))));
}

// ---- event detail ----
function jsonBlock(v) {
  // JSON.stringify escapes control characters inside strings; lines() keeps the layout's line
  // breaks and makes the invisible characters JSON leaves alone (bidi overrides, DEL) visible.
  return h('pre.json', null, lines(JSON.stringify(v, null, 2)));
}

function payloadView(p) {
  if (!p || typeof p !== 'object') return txt(p);
  if (p.commitment !== undefined) {
    return dl([['commitment', p.commitment], ['size', p.size], ['media type', p.media_type],
      ['note', 'Content is not in the log; its holder can prove it matches this commitment.']]);
  }
  if (p.encrypted !== undefined) return dl([['encrypted', jsonBlock(p.encrypted)], ['size', p.size], ['media type', p.media_type]]);
  return h('div', null, dl([['media type', p.media_type], ['redacted', p.redacted && p.redacted.join(', ')]]), jsonBlock(p.content));
}

function eventView(log, row) {
  const e = ev(row);
  const sections = [
    h('section.card', null, h('h2', null, 'Event'), dl([
      ['id', e.id], ['time', e.ts], ['started', e.started], ['action', e.action], ['status', e.status],
      ['agent', e.agent && [e.agent.id, e.agent.name, e.agent.version, e.agent.environment].filter(Boolean).join(' · ')],
      ['session', e.session && h('a', { href: link('logs', log, 'sessions', String(e.session.id)) }, `${txt(e.session.id)} #${txt(e.session.seq)}`)],
      ['trace', e.trace && `${txt(e.trace.trace_id)} / ${txt(e.trace.span_id)}${e.trace.parent_span_id ? ` ← ${txt(e.trace.parent_span_id)}` : ''}`],
      ['signature', e.sig && `agent key ${txt(e.sig.key_id)}`],
      ['index', row.index], ['leaf hash', row.leafHash], ['received', row.received],
    ])),
  ];
  const ctx = e.context && typeof e.context === 'object' ? e.context : {};
  if (Object.keys(ctx).length) {
    sections.push(h('section.card', null, h('h2', null, 'Context'), Object.entries(ctx).map(([k, v]) =>
      h(`div.block${k === 'oversight' ? '.oversight' : ''}${k === 'checks' ? '.flag' : ''}`, null, h('h3', null, txt(k)),
        v && typeof v === 'object' && !Array.isArray(v) ? dl(Object.entries(v).map(([a, b]) => [a, typeof b === 'object' && b !== null ? jsonBlock(b) : b])) : jsonBlock(v)))));
  }
  for (const k of ['input', 'output']) {
    if (e[k] === undefined) continue;
    const encrypted = e[k] && typeof e[k] === 'object' && e[k].encrypted !== undefined;
    sections.push(h('section.card', null, h('h2', null, k), payloadView(e[k]),
      encrypted ? h(`div.private-content`, { 'data-field': k }) : null));
  }
  if (e.attributes !== undefined) sections.push(h('section.card', null, h('h2', null, 'Attributes'), jsonBlock(e.attributes)));
  return sections;
}

/**
 * Fills the event's private-content boxes: the content decrypted by the server for this key,
 * "content erased on T" once its subject was erased, or why it cannot be shown.
 */
async function showPrivateContent(main, log, id) {
  const boxes = [...main.querySelectorAll('div.private-content')];
  if (!boxes.length) return;
  let shown = null;
  try {
    const c = await api.content(log, id);
    shown = (field) => (c[field] === undefined ? h('p.muted', null, 'No private content.')
      : h('div', null, h('h3', null, 'Decrypted content'), jsonBlock(c[field]),
        h('p.muted', null, 'Decrypted by the server for your key. The leaf commits to the stored ciphertext, not to this text.')));
  } catch (e) {
    let note;
    if (e.status === 410) {
      const when = /erased on (\S+)/.exec(e.message);
      note = h('p.warn.erased', null, when ? `content erased on ${when[1]}` : e.message,
        h('span.muted', null, ` — ${e.message}`));
    } else if (e.status === 403) {
      note = h('p.muted', null, 'Your key cannot read private content: a read or admin key can.');
    } else {
      note = h('p.bad', { role: 'alert' }, `The content could not be read: ${txt(e.message)}`);
    }
    shown = () => note.cloneNode(true);
  }
  for (const box of boxes) replace(box, shown(box.dataset.field));
}

async function eventPage(main, log, id) {
  setTitle(`Event ${id}`);
  const [row, info] = await Promise.all([api.event(log, id), api.log(log).catch(() => null)]);
  const proofBox = h('section.card.proof', { 'aria-live': 'polite' });
  const check = async () => {
    const vkey = getPin(log);
    if (!vkey) {
      replace(proofBox, h('h2', null, 'Inclusion proof'), h('p.warn', null, 'Pin the log key above to check this event\'s proof in your browser.'));
      return;
    }
    replace(proofBox, h('h2', null, 'Inclusion proof'), h('p.muted', null, 'Checking…'));
    try {
      const receipt = await api.proof(log, id);
      const r = await verifyReceipt(receipt, vkey);
      let leafEvent = null;
      try {
        leafEvent = JSON.parse(r.leafText).event;
      } catch {
        leafEvent = null;
      }
      const problems = [];
      if (!leafEvent || leafEvent.id !== id) problems.push('the verified leaf is not this event (its id differs)');
      // The API spells hashes in base64 (as checkpoints do); accept hex too.
      const reported = row.leafHash === undefined || row.leafHash === null ? null : String(row.leafHash);
      if (reported !== null && reported !== r.leafHashBase64 && reported.toLowerCase() !== r.leafHash) {
        problems.push('the leaf hash the API reported differs from the verified one');
      }
      if (row.index !== undefined && row.index !== null && String(row.index) !== r.index) {
        problems.push(`the API reported index ${txt(row.index)}, the proof is for index ${r.index}`);
      }
      replace(proofBox, h('h2', null, 'Inclusion proof'),
        problems.length
          ? h('p.bad', { role: 'alert' }, `Proof verified, but ${problems.join('; ')}.`)
          : h('p.good', null, `Verified: entry ${r.index} of ${r.checkpoint.origin}, in the checkpoint of size ${r.checkpoint.size} signed by ${r.key}.`),
        dl([['leaf hash', r.leafHashBase64], ['checkpoint root', r.checkpoint.root], ['checkpoint size', r.checkpoint.size],
          ['checked with', r.crypto.sha256 === 'WebCrypto' && r.crypto.ed25519 === 'WebCrypto' ? 'the browser\'s WebCrypto'
            : `SHA-256 by ${r.crypto.sha256}, Ed25519 by ${r.crypto.ed25519}: JavaScript shipped with the dashboard, used where the browser offers no WebCrypto (it does only over HTTPS or on localhost)`]]),
        h('h3', null, 'What this proves'),
        h('p', null, 'The exact leaf bytes below are entry ' + r.index + ' of the log, in the tree whose checkpoint was signed by the log key you pinned. If anyone changed, removed or reordered this entry afterwards, the check would fail.'),
        h('h3', null, 'What it does not prove'),
        h('ul', null,
          h('li', null, 'That what the event says is true: the agent and its clock wrote it; the log only proves it was not altered after it was recorded.'),
          h('li', null, 'That everyone sees the same log: witness cosignatures are not checked here (use sealog verify with a trust policy).'),
          h('li', null, 'That the fields shown above match: they come from the API; the verified bytes are below.'),
          h('li', null, 'What a payload commitment hides: only the holder of the content and key can show that.')),
        h('details', null, h('summary', null, 'Verified leaf bytes'), h('pre.json', null, txt(r.leafText ?? '(not UTF-8)'))));
    } catch (e) {
      replace(proofBox, h('h2', null, 'Inclusion proof'), h('p.bad', { role: 'alert' }, `Not verified: ${txt(e.message)}`));
    }
  };
  replace(main, logHeader(log, 'Events'), pinPanel(log, info, check), h('h2', null, txt(id)), eventView(log, row),
    eventAnchors(info, row.index), proofBox);
  await Promise.all([check(), showPrivateContent(main, log, id)]);
}

// ---- session view ----
/** A duration for people: exact milliseconds up to 10 s, then seconds, minutes, hours. */
function duration(ms) {
  if (ms < 10000) return `${Math.round(ms)} ms`;
  if (ms < 120000) return `${Math.round(ms / 1000)} s`;
  if (ms < 7200000) return `${Math.round(ms / 60000)} min`;
  return `${Math.round(ms / 3600000)} h`;
}

async function sessionPage(main, log, sid) {
  setTitle(`Session ${sid}`);
  // The server pages the session in seq order from its index: the whole session is shown,
  // so every gap is checked.
  const rows = [];
  let cursor = null;
  // Set when events carry no seq (recorded from OpenTelemetry): no gap can be seen then.
  let unprovable = null;
  do {
    const page = await api.sessionEvents(log, sid, cursor, 1000);
    rows.push(...page.events);
    if (page.completeness) unprovable = page.completeness;
    cursor = page.next;
  } while (cursor);
  const seqOf = (r) => Number(ev(r).session && ev(r).session.seq);
  const items = [];
  let expected = 0;
  let gaps = 0;
  let prevEnd = null;
  for (const r of rows) {
    const e = ev(r);
    const seq = seqOf(r);
    if (Number.isFinite(seq) && seq > expected) {
      gaps++;
      items.push(h('li.gap', null, h('strong', null, 'Gap: '), `seq ${expected}${seq - 1 > expected ? `–${seq - 1}` : ''} missing`));
    }
    if (Number.isFinite(seq)) expected = Math.max(expected, seq + 1);
    const end = Date.parse(e.ts);
    const start = Date.parse(e.started);
    const took = Number.isFinite(start) && Number.isFinite(end) ? `took ${duration(end - start)}` : null;
    const begin = Number.isFinite(start) ? start : end;
    const idle = prevEnd !== null && Number.isFinite(begin) && begin > prevEnd ? `${duration(begin - prevEnd)} after the previous event` : null;
    prevEnd = Number.isFinite(end) ? end : prevEnd;
    const timing = [took, idle].filter(Boolean).join(' · ');
    const cls = isFlagged(e) ? 'flag' : isOversight(e) ? 'oversight' : '';
    items.push(h('li', { class: cls },
      h('span.seq', null, `#${txt(e.session && e.session.seq)}`), ' ',
      h('time', null, txt(e.ts)), ' ',
      h('strong', null, txt(e.action)), ' ', statusBadge(e.status), ' ',
      eventFacts(log, e), ' ',
      timing ? h('span.muted', null, timing) : null, ' ',
      isOversight(e) && e.context && e.context.oversight ? [h('span.badge.neutral', null, `oversight: ${txt(e.context.oversight.decision)} by ${txt(e.context.oversight.reviewer)}`), ' '] : null,
      h('a', { href: link('logs', log, 'events', String(r.id)) }, 'details')));
  }
  const last = rows[rows.length - 1];
  const endEvent = rows.find((r) => ev(r).action === 'session_end');
  if (endEvent && ev(endEvent).session && Number(ev(endEvent).session.count) > expected) {
    gaps++;
    items.push(h('li.gap', null, h('strong', null, 'Gap: '), `session_end counts ${txt(ev(endEvent).session.count)} events, seq ${expected}… missing`));
  }
  replace(main, logHeader(log, 'Events'),
    h('h2', null, `Session ${txt(sid)}`),
    h('p', null, count(rows.length, 'event', 'events'), gaps ? h('span.bad', null, ` · ${gaps} gap${gaps > 1 ? 's' : ''} flagged`) : unprovable ? h('span.bad', null, ` · ${unprovable}`) : ' · no gaps',
      last && !endEvent ? h('span.muted', null, ' · no session_end yet') : null),
    h('ol.timeline', null, items),
    h('h2', null, 'Span tree'),
    spanTree(log, rows));
}

function spanTree(log, rows) {
  const withSpan = rows.filter((r) => ev(r).trace && ev(r).trace.span_id);
  if (!withSpan.length) return h('p.muted', null, 'No trace spans in this session.');
  const bySpan = new Map();
  for (const r of withSpan) {
    const id = String(ev(r).trace.span_id);
    if (!bySpan.has(id)) bySpan.set(id, []);
    bySpan.get(id).push(r);
  }
  const children = new Map();
  const roots = [];
  for (const [id, list] of bySpan) {
    const parent = ev(list[0]).trace.parent_span_id;
    if (parent && bySpan.has(String(parent)) && String(parent) !== id) {
      if (!children.has(String(parent))) children.set(String(parent), []);
      children.get(String(parent)).push(id);
    } else {
      roots.push(id);
    }
  }
  const seen = new Set();
  const node = (id) => {
    // A cycle in hostile data must not hang the page.
    if (seen.has(id)) return h('li', null, `${txt(id)} (cycle)`);
    seen.add(id);
    const list = bySpan.get(id);
    return h('li', null,
      h('code', null, txt(id)), ' ',
      list.map((r) => h('a', { href: link('logs', log, 'events', String(r.id)) }, `${txt(ev(r).action)} `)),
      children.has(id) ? h('ul', null, children.get(id).map(node)) : null);
  };
  return h('ul.tree', null, roots.map(node));
}

// ---- export ----
async function exportPage(main, log, params) {
  setTitle(`Export · ${log}`);
  const f = filtersFrom(params);
  // One small query first: it checks the filters (a bad time is refused here, rather than
  // downloading the error as pack.zip) and says whether anything matches.
  const [info, preview] = await Promise.all([
    api.log(log).catch(() => null),
    api.events(log, f, null, 1).catch((e) => {
      if (e instanceof api.ApiError && e.status === 400) return e;
      throw e;
    }),
  ]);
  const url = api.exportUrl(log, f);
  // The name the server gives the file (its Content-Disposition wins over `download`).
  const file = `${log}-evidence.zip`;
  const vkey = getPin(log) || (info && info.vkey) || '<log vkey>';
  let download;
  if (preview instanceof api.ApiError) {
    download = errorBox(preview);
  } else if (preview.events.length === 0 && !preview.next) {
    download = h('p.warn', null, 'No events match these filters; there is nothing to export.');
  } else {
    download = h('p', null, h('a.button', { href: url, download: file }, 'Download evidence pack'));
  }
  replace(main, logHeader(log, 'Export'),
    h('p', null, 'Choose which events to include. The pack proves each of them against the whole log\'s checkpoint.'),
    filterForm(f, (out) => {
      location.hash = `${link('logs', log)}/export?${new URLSearchParams(out)}`;
    }, 'Update'),
    download,
    h('p', null, 'Then verify it on your own machine, against the log key you trust:'),
    h('pre.cmd', null, `sealog verify ${file} --log-key '${txt(vkey)}'`),
    getPin(log) ? null : h('p.warn', null, 'No key pinned for this log: the command shows the key the server reports. Check it out of band.'));
}

// ---- keys (admin) ----
async function keysPage(main, log) {
  setTitle(`Keys · ${log}`);
  const out = h('div', { 'aria-live': 'polite' });
  const tbody = h('tbody');
  const refresh = async () => {
    const list = await api.keys(log);
    replace(tbody, list.map((k) => h('tr', null,
      h('td', null, txt(k.id)), h('td', null, txt(k.label)), h('td', null, txt(k.role)),
      h('td', null, txt(k.created)), h('td', null, k.revoked ? `revoked ${k.revoked === true ? '' : txt(k.revoked)}` : 'active'),
      h('td', null, Number(k.sessions) > 0 ? `${txt(k.sessions)} signed in` : 'none'),
      h('td', null, k.revoked ? '' : h('button', { type: 'button', onclick: async () => {
        if (!confirm(`Revoke key ${k.id}?`)) return;
        try {
          await api.revokeKey(log, k.id);
          await refresh();
          replace(out, h('p', null, `Key ${txt(k.id)} revoked.`));
        } catch (err) {
          replace(out, errorBox(err));
        }
      } }, 'Revoke')))));
  };
  const label = h('input', { id: 'k-label', required: true });
  const role = h('select', { id: 'k-role' }, ['ingest', 'read', 'admin'].map((r) => h('option', { value: r }, r)));
  const form = h('form.card', { onsubmit: async (e) => {
    e.preventDefault();
    try {
      const k = await api.createKey(log, label.value, role.value);
      replace(out, h('p.good', null, 'Key created. Copy it now; it is not shown again:'), h('pre.cmd', null, txt(k.secret)));
      label.value = '';
      await refresh();
    } catch (err) {
      replace(out, errorBox(err));
    }
  } }, h('h2', null, 'Create a key'),
  h('div.row.fields', null,
    h('div.field', null, h('label', { for: 'k-label' }, 'Label'), label),
    h('div.field', null, h('label', { for: 'k-role' }, 'Role'), role),
    h('button', { type: 'submit' }, 'Create')));
  await refresh();
  replace(main, logHeader(log, 'Keys'), out, form,
    h('div.scroll', null, h('table', null,
      h('thead', null, h('tr', null, ['Key', 'Label', 'Role', 'Created', 'State', 'Dashboard sessions', h('span.visually-hidden', null, 'Actions')].map((c) => h('th', { scope: 'col' }, c)))),
      tbody)));
}

window.addEventListener('hashchange', async () => {
  await render();
  // Keyboard users continue from the new page, not from the link that is gone.
  if (document.activeElement === document.body) root.focus({ preventScroll: true });
});
// Path URLs (/ui/logs/x) map onto the same routes.
if (location.pathname.startsWith('/ui/') && !location.hash) {
  const rest = location.pathname.slice(3);
  history.replaceState(null, '', `/#${rest}${location.search ? `?${location.search.slice(1)}` : ''}`);
}
render();
