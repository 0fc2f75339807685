// Incidents (read and admin keys): each incident frozen with POST /v1/logs/{log}/incidents,
// with its time range, filters, the legal hold on it and its sealed evidence pack to download;
// admins freeze one with the form above the list.
import * as api from './api.js';
import { h, replace, txt } from './dom.js';

/** The filters of an incident other than its range, as `name value` pairs. */
function filterText(filters) {
  return Object.entries(filters || {})
    .filter(([k]) => k !== 'since' && k !== 'until')
    .map(([k, v]) => `${k} ${txt(v)}`)
    .join(' · ');
}

/** The evidence cell: the pack to download once it is sealed, else its state. */
function packCell(pack) {
  const state = pack && pack.state;
  if (state === 'ready') {
    return h('a', { href: String(pack.url), download: '' },
      `pack (${txt(pack.entries)} events, SHA-256 ${txt(String(pack.sha256).slice(0, 12))}…)`);
  }
  if (state === 'failed') return h('span.bad', null, `not sealed: ${txt(pack.why)}`);
  return 'being sealed (a stopped server seals it at its next start)';
}

/** A labelled field of the freeze form. */
function field(id, label, input, hint) {
  return h('div.field', null, h('label', { for: id }, label), input,
    hint ? h('small.muted', { id: `${id}-hint` }, hint) : null);
}

/** The admins' form to freeze an incident; `done` redraws the list after a freeze. */
function freezeForm(log, out, errorBox, done) {
  const input = (id, attrs) => h('input', { id, name: id, ...attrs });
  const title = input('i-title', { required: true, maxlength: 1000 });
  const since = input('i-since', { type: 'datetime-local', required: true, step: 1 });
  const until = input('i-until', { type: 'datetime-local', required: true, step: 1 });
  const session = input('i-session', { 'aria-describedby': 'i-session-hint' });
  const subject = input('i-subject', { 'aria-describedby': 'i-subject-hint' });
  const reason = input('i-reason', { maxlength: 1000 });
  const submit = h('button', { type: 'submit' }, 'Freeze');
  return h('form.card.freeze', { onsubmit: async (e) => {
    e.preventDefault();
    const [from, to] = [new Date(since.value), new Date(until.value)];
    if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) {
      replace(out, h('p.error', { role: 'alert' }, 'Give the start and the end of the range.'));
      return;
    }
    const body = { title: title.value, reason: reason.value || undefined,
      since: from.toISOString(), until: to.toISOString(),
      session: session.value || undefined, subject: subject.value || undefined };
    submit.disabled = true;
    replace(out, h('p', { role: 'status' }, 'Freezing: placing the hold and sealing the pack…'));
    let outcome;
    try {
      const made = await api.freezeIncident(log, body);
      outcome = h('p.good', { role: 'status' }, `Incident ${txt(made.id)} frozen: its range is held and its pack is sealed.`);
    } catch (err) {
      outcome = errorBox(err);
    }
    // The outcome shows once the list is redrawn and the form takes the next freeze, so
    // whoever reads it can act on it at once.
    try {
      await done();
    } finally {
      submit.disabled = false;
      replace(out, outcome);
    }
  } }, h('h2', null, 'Freeze an incident'),
  h('p.muted', null, 'Records an incident event, holds the range (no erasure or pruning of it) and seals an evidence pack of its events. Times are your local time.'),
  h('div.row.fields', null,
    field('i-title', 'Title (what happened)', title),
    field('i-since', 'From', since),
    field('i-until', 'Until (exclusive)', until)),
  h('div.row.fields', null,
    field('i-session', 'Session (optional)', session, 'only this session is held and packed'),
    field('i-subject', 'Subject pseudo id (optional)', subject, 'only this data subject is held and packed'),
    field('i-reason', 'Reason (optional)', reason),
    submit));
}

/**
 * Draws the page into `main`; `page.header` is the log's heading and tabs, `page.admin` whether
 * the session may freeze incidents, `page.errorBox` draws an API error.
 */
export async function incidentsPage(main, log, page) {
  const tbody = h('tbody');
  const refresh = async () => {
    const incidents = await api.incidents(log);
    const rows = incidents.map((i) => h('tr', null,
      h('td', null, txt(i.title)),
      h('td', null, `${txt(i.since)} – ${txt(i.until)}`),
      h('td', null, filterText(i.filters)),
      h('td', null, txt(i.created)),
      h('td', null, h('code', null, txt(i.hold))),
      h('td', null, packCell(i.pack))));
    replace(tbody, rows.length ? rows : h('tr', null, h('td', { colspan: 6 }, 'No incident was recorded.')));
  };
  const out = h('div', { 'aria-live': 'polite' });
  await refresh();
  replace(main, page.header,
    h('p', null, 'Each incident holds its time range (no erasure or pruning of it) and keeps the evidence pack sealed when it was frozen; verify a pack with sealog verify.'),
    page.admin ? [out, freezeForm(log, out, page.errorBox, refresh)] : null,
    // Focusable, so that a keyboard can scroll the table on a narrow screen even when it holds
    // no link.
    h('div.scroll', { tabindex: 0, role: 'region', 'aria-label': 'Incidents' }, h('table.incidents', null,
      h('thead', null, h('tr', null, ['Title', 'Range', 'Filters', 'Frozen', 'Legal hold', 'Evidence']
        .map((c) => h('th', { scope: 'col' }, c)))),
      tbody)));
}
