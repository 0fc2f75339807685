// Witnesses and time-stamps as the server reports them (`witnessing` and `timestamping` of
// GET /v1/logs/{log}, docs/DESIGN.md §3.7, §3.9): on the logs overview, a fork alarm and
// each log's quorum, witnesses and latest time-stamp; on an event, whether a witnessed and a
// time-stamped checkpoint covers it. The page checks none of it: it says so, and names the
// command that does.
import { h, txt, age } from './dom.js';

const CHECK_IT = 'As the server reports it. To check the cosignatures and time-stamps yourself, '
  + 'export an evidence pack and run sealog verify with --policy (your witnesses) and --tsa-roots (your TSAs).';

/** One witness's state for a log whose latest checkpoint has `size` entries. */
function witnessState(w, size) {
  if (w.last_error) return h('span.bad', null, `failing: ${txt(w.last_error)}`);
  if (typeof w.cosigned_size !== 'number') return h('span.warn', null, 'never cosigned');
  const when = typeof w.last_cosigned_age_seconds === 'number'
    ? `, ${age(Date.now() - w.last_cosigned_age_seconds * 1000)}` : '';
  const state = w.cosigned_size >= size ? 'up to date' : 'behind';
  return h(w.cosigned_size >= size ? 'span.good' : 'span.warn', null, `${state}: cosigned size ${txt(w.cosigned_size)}${when}`);
}

/** The Witnesses cell of a log: its quorum, each witness's state, and any fork or missed quorum. */
export function witnessCell(log) {
  const w = log.witnessing;
  if (!w) return h('span.warn', null, 'not witnessed');
  const size = (log.checkpoint && log.checkpoint.size) || 0;
  return h('div.witnessing', null,
    w.fork ? h('strong.bad', null, 'FORK DETECTED') : null,
    h('div', null, `${txt(w.requirement)}; witnessed up to size ${txt(w.witnessed_size ?? 'none')}`),
    typeof w.quorum_missed_seconds === 'number'
      ? h('div.warn', null, `quorum missed for ${txt(w.quorum_missed_seconds)} s`) : null,
    h('ul.witnesses', null, (w.witnesses || []).map((x) =>
      h('li', { 'data-witness': txt(x.name) }, `${txt(x.name)}: `, witnessState(x, size)))));
}

/** The Time-stamp cell of a log: its latest time-stamp and TSA, or why there is none. */
export function stampCell(log) {
  const t = log.timestamping;
  if (!t) return h('span.warn', null, 'not time-stamped');
  const latest = t.latest
    ? h('div', null, `size ${txt(t.latest.size)} at ${txt(t.latest.gen_time)} by ${txt(t.latest.tsa)}`)
    : h('div.warn', null, 'none yet');
  return h('div.timestamping', null, latest, t.last_error ? h('div.bad', null, `last error: ${txt(t.last_error)}`) : null);
}

/** The alarms of the logs a witness said are forked: loud, above everything else. */
export function forkAlarms(logs) {
  return logs.filter((l) => l.witnessing && l.witnessing.fork).map((l) =>
    h('div.fork-alarm', { role: 'alert' },
      h('strong', null, `FORK DETECTED on log ${txt(l.name)}`),
      h('p', null, txt(l.witnessing.fork)),
      h('p', null, 'A witness says this log\'s history is not the one it cosigned before: a data '
        + 'directory restored from an old copy, or a second server with the same key. Its checkpoints '
        + 'are no longer called witnessed. Find out what happened before anything else; nothing is repaired by itself.')));
}

/** What witnesses say about the event at `index` of `log`. */
function eventWitnessing(log, index) {
  const w = log.witnessing;
  if (!w) {
    return h('p.warn', null, 'Not witnessed: the server has no witness policy, so nothing but the log '
      + 'key vouches that everyone is shown this same log.');
  }
  if (w.fork) return h('p.bad', { role: 'alert' }, `FORK DETECTED on this log: ${txt(w.fork)}`);
  const by = (w.witnesses || []).filter((x) => typeof x.cosigned_size === 'number' && x.cosigned_size > index);
  const cosigned = by.length
    ? ` Cosigned past it by ${by.map((x) => `${txt(x.name)} (size ${txt(x.cosigned_size)})`).join(', ')}.` : '';
  if (typeof w.witnessed_size === 'number' && w.witnessed_size > index) {
    return h('p.good', null, `Witnessed: the checkpoint of size ${txt(w.witnessed_size)}, which covers this event, `
      + `met the ${txt(w.requirement)}.${cosigned}`);
  }
  return h('p.warn', null, `Not witnessed yet: no checkpoint covering this event has met the ${txt(w.requirement)}.${cosigned}`);
}

/** What time-stamps say about the event at `index` of `log`. */
function eventStamp(log, index) {
  const t = log.timestamping;
  if (!t) {
    return h('p.warn', null, 'Not time-stamped: the server has no time-stamping authority, so the '
      + 'times shown come from the operator\'s clock (received) and the agent\'s (time).');
  }
  const latest = t.latest;
  if (latest && typeof latest.size === 'number' && latest.size > index) {
    return h('p.good', null, `Time-stamped: recorded no later than ${txt(latest.gen_time)}, per TSA `
      + `${txt(latest.tsa)} (the time-stamp of the checkpoint of size ${txt(latest.size)}).`);
  }
  return h('p.warn', null, latest
    ? `Not time-stamped yet: the latest time-stamp, of the checkpoint of size ${txt(latest.size)}, does not cover this event.`
    : 'Not time-stamped yet: the log has no time-stamp so far.');
}

/** The event page's card: witnesses and time-stamps of the checkpoints covering `index`. */
export function eventAnchors(log, index) {
  const i = Number(index);
  return h('section.card.anchors', null, h('h2', null, 'Witnesses and time-stamps'),
    log ? [eventWitnessing(log, i), eventStamp(log, i)] : h('p.warn', null, 'The log\'s status could not be read.'),
    h('p.muted', null, CHECK_IT));
}
