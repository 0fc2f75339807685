// Incidents (read and admin keys): each incident frozen with POST /v1/logs/{log}/incidents,
// with its time range, filters, the legal hold on it and its sealed evidence pack to download.
import * as api from './api.js';
import { h, replace, txt } from './dom.js';

/** The filters of an incident other than its range, as `name value` pairs. */
function filterText(filters) {
  return Object.entries(filters || {})
    .filter(([k]) => k !== 'since' && k !== 'until')
    .map(([k, v]) => `${k} ${txt(v)}`)
    .join(' · ');
}

/** Draws the page into `main`; `page.header` is the log's heading and tabs. */
export async function incidentsPage(main, log, page) {
  const incidents = await api.incidents(log);
  const rows = incidents.map((i) => h('tr', null,
    h('td', null, txt(i.title)),
    h('td', null, `${txt(i.since)} – ${txt(i.until)}`),
    h('td', null, filterText(i.filters)),
    h('td', null, txt(i.created)),
    h('td', null, h('code', null, txt(i.hold))),
    h('td', null, i.pack
      ? h('a', { href: String(i.pack.url), download: '' },
        `pack (${txt(i.pack.entries)} events, SHA-256 ${txt(String(i.pack.sha256).slice(0, 12))}…)`)
      : 'not sealed: the server stopped before its pack was stored')));
  replace(main, page.header,
    h('p', null, 'Each incident holds its time range (no erasure or pruning of it) and keeps the evidence pack sealed when it was frozen; verify a pack with sealog verify.'),
    h('div.scroll', null, h('table.incidents', null,
      h('thead', null, h('tr', null, ['Title', 'Range', 'Filters', 'Frozen', 'Legal hold', 'Evidence']
        .map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, rows.length ? rows : h('tr', null, h('td', { colspan: 6 }, 'No incident was recorded.'))))));
}
