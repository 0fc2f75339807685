// Pending approvals (the log's admins): the calls a proxy or an SDK holds for a reviewer, with
// Approve and Reject buttons. Only what the record holds in clear is shown (tool, agent,
// session, time); the call's arguments are committed, never shown.
import * as api from './api.js';
import { h, replace, txt } from './dom.js';

const REFRESH_MS = 2000;

/**
 * Draws the page into `main`. `page` gives the shared parts of app.js: `header` (the log's
 * heading and tabs), `errorBox(e)`, `every(view, ms, fn)` and `sessionLink(id)`.
 */
export async function approvalsPage(main, log, page) {
  const out = h('div', { 'aria-live': 'polite' });
  const reason = h('input', { id: 'a-reason', maxlength: 1000 });
  const tbody = h('tbody');
  const decide = async (call, decision) => {
    try {
      const d = await api.decide(log, call.event_id, decision, reason.value);
      replace(out, h('p.good', null, `Call ${txt(call.event_id)} ${txt(d.decision)} by ${txt(d.reviewer)}.`));
    } catch (err) {
      replace(out, page.errorBox(err));
    }
    await refresh();
  };
  const refresh = async () => {
    const held = await api.approvals(log);
    if (!held.length) return replace(tbody, h('tr', null, h('td', { colspan: 5 }, 'No call is waiting for a decision.')));
    replace(tbody, held.map((call) => h('tr', null,
      h('td', null, txt(call.tool && call.tool.name)),
      h('td', null, txt(call.agent && call.agent.id)),
      h('td', null, call.session ? page.sessionLink(call.session) : ''),
      h('td', null, txt(call.ts)),
      h('td', null,
        h('button', { type: 'button', onclick: () => decide(call, 'approved') }, 'Approve'),
        ' ',
        h('button', { type: 'button', onclick: () => decide(call, 'rejected') }, 'Reject')))));
  };
  await refresh();
  replace(main, page.header, out,
    h('div.field', null, h('label', { for: 'a-reason' }, 'Reason (recorded with the decision)'), reason),
    h('div.scroll', null, h('table.approvals', null,
      h('thead', null, h('tr', null, ['Tool', 'Agent', 'Session', 'Held since', h('span.visually-hidden', null, 'Decision')]
        .map((c) => h('th', { scope: 'col' }, c)))),
      tbody)));
  page.every(main, REFRESH_MS, () => refresh().catch((e) => replace(out, page.errorBox(e))));
}
