// The one place that knows the server's JSON API (docs/DESIGN.md §4). Response shapes are not final:
// every normalizer below accepts the likely spellings and returns plain objects the pages
// use. An integrator adapting field names should only need to touch this file.

let csrfToken = null;

/** An API failure: HTTP status plus the server's {"error": {code, message}}. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

async function request(method, path, { params, body, accept } = {}) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, v);
  }
  const headers = { Accept: accept || 'application/json' };
  if (method !== 'GET') {
    // The session cookie authenticates; this header proves the call comes from this page.
    if (csrfToken) headers['X-CSRF-Token'] = csrfToken;
  }
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    cache: 'no-store',
    redirect: 'error',
  });
  if (!res.ok) {
    let code = 'http_error';
    let message = `${res.status} ${res.statusText}`;
    try {
      const j = await res.json();
      if (j && j.error) {
        code = String(j.error.code || code);
        message = String(j.error.message || message);
      }
    } catch {
      // Not JSON: keep the status line.
    }
    throw new ApiError(res.status, code, message);
  }
  return res;
}

async function json(method, path, opts) {
  const res = await request(method, path, opts);
  if (res.status === 204) return null;
  return res.json();
}

const enc = encodeURIComponent;
const pick = (o, ...names) => {
  for (const n of names) if (o && o[n] !== undefined && o[n] !== null) return o[n];
  return undefined;
};

/** {key_id, role, log, csrf_token, expires_in} of the current session, or null. */
export async function whoami() {
  try {
    const s = await json('GET', '/ui/session');
    csrfToken = s.csrf_token;
    return s;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null;
    throw e;
  }
}

export async function signIn(apiKey) {
  const s = await json('POST', '/ui/session', { body: { api_key: apiKey } });
  csrfToken = s.csrf_token;
  return s;
}

export async function signOut() {
  await json('DELETE', '/ui/session');
  csrfToken = null;
}

/** Normalized log summary: {name, origin, vkey, size, checkpoint, indexLag, indexError, ingestRate, witnessing, timestamping}. */
export function normLog(x) {
  if (typeof x === 'string') return { name: x };
  const cp = pick(x, 'checkpoint', 'last_checkpoint', 'latest_checkpoint') || {};
  return {
    name: pick(x, 'name', 'log', 'id'),
    origin: pick(x, 'origin'),
    vkey: pick(x, 'vkey', 'log_key', 'key'),
    size: pick(x, 'size', 'tree_size', 'entries'),
    checkpoint: typeof cp === 'string' ? { note: cp } : {
      size: pick(cp, 'size', 'tree_size'),
      time: pick(cp, 'time', 'timestamp', 'signed_at', 'created'),
      root: pick(cp, 'root', 'root_hash'),
      note: pick(cp, 'note', 'text'),
    },
    indexLag: pick(x, 'index_lag', 'indexLag'),
    indexError: pick(x, 'index_error', 'indexError'),
    ingestRate: pick(x, 'ingest_rate', 'events_per_second'),
    witnessing: pick(x, 'witnessing'),
    timestamping: pick(x, 'timestamping'),
  };
}

export async function logs() {
  const j = await json('GET', '/v1/logs');
  const list = (Array.isArray(j) ? j : pick(j, 'logs', 'items') || []).map(normLog);
  // Logs the server could not open at start, with why: they are not served.
  list.damaged = (Array.isArray(j) ? [] : pick(j, 'damaged') || [])
    .map((d) => ({ name: String(d.name), error: String(d.error) }));
  return list;
}

export async function log(name) {
  return normLog(await json('GET', `/v1/logs/${enc(name)}`));
}

/** Normalized event row: {index, id, received, leafHash, event}. */
export function normEvent(x) {
  const event = x && typeof x.event === 'object' && x.event !== null ? x.event
    : x && typeof x.leaf === 'object' && x.leaf !== null && x.leaf.event ? x.leaf.event : x;
  return {
    index: pick(x, 'index', 'leaf_index'),
    id: pick(event, 'id') ?? pick(x, 'id'),
    received: pick(x, 'received') ?? (x && x.leaf && x.leaf.received),
    leafHash: pick(x, 'leaf_hash', 'leafHash'),
    leafText: typeof (x && x.leaf) === 'string' ? x.leaf : undefined,
    event: event || {},
  };
}

/** One page of events: {events, next}. Filters: q (a search), agent, session, action, status, since, until. */
export async function events(logName, filters, cursor, limit) {
  const j = await json('GET', `/v1/logs/${enc(logName)}/events`, {
    params: { ...filters, cursor, limit },
  });
  const list = Array.isArray(j) ? j : pick(j, 'events', 'items') || [];
  return { events: list.map(normEvent), next: pick(j, 'next', 'next_cursor', 'cursor') };
}

/** One page of a session's events in `seq` order, from the server's index: {events, next}. */
export async function sessionEvents(logName, session, cursor, limit) {
  const j = await json('GET', `/v1/logs/${enc(logName)}/sessions/${enc(session)}/events`, {
    params: { cursor, limit },
  });
  const completeness = pick(j, 'completeness');
  return {
    events: (pick(j, 'events') || []).map(normEvent),
    next: pick(j, 'next'),
    // Said when events carry no seq (recorded from OpenTelemetry).
    completeness: typeof completeness === 'string' ? completeness : null,
  };
}

/**
 * Counts of the events matching `filters` per time bucket and action, over the whole filtered
 * range (not a page): {edges (the server's RFC 3339 bucket edges, one more than buckets),
 * bucketUs (their width in µs), series [{action, counts, total}] most frequent first, with the
 * actions not listed apart summed into one {action: null, folded} series, total}.
 */
export async function histogram(logName, filters, buckets) {
  const j = await json('GET', `/v1/logs/${enc(logName)}/events/histogram`, {
    params: { ...filters, buckets },
  });
  const series = (pick(j, 'actions') || []).map((a) => ({
    action: String(pick(a, 'action')),
    counts: pick(a, 'counts') || [],
    total: pick(a, 'total') || 0,
  }));
  const other = pick(j, 'other');
  if (other) {
    series.push({ action: null, folded: pick(other, 'actions') || 0, counts: pick(other, 'counts') || [], total: pick(other, 'total') || 0 });
  }
  return {
    edges: (pick(j, 'edges') || []).map(String),
    bucketUs: pick(j, 'bucket_us', 'bucketUs'),
    series,
    total: pick(j, 'total') || 0,
  };
}

export async function event(logName, id) {
  return normEvent(await json('GET', `/v1/logs/${enc(logName)}/events/${enc(id)}`));
}

/** The decrypted private payloads of an event, {input?, output?} (read and admin keys). */
export async function content(logName, id) {
  return json('GET', `/v1/logs/${enc(logName)}/events/${enc(id)}/content`);
}

/** Freezes an incident: `incident` is the body of POST /v1/logs/{log}/incidents. */
export async function freezeIncident(logName, incident) {
  return json('POST', `/v1/logs/${enc(logName)}/incidents`, { body: incident });
}

/** The log's incidents, oldest first. */
export async function incidents(logName) {
  const j = await json('GET', `/v1/logs/${enc(logName)}/incidents`);
  return Array.isArray(j && j.incidents) ? j.incidents : [];
}

/** The receipt as the exact bytes served (they are verified, so never re-decoded). */
export async function proof(logName, id) {
  const res = await request('GET', `/v1/logs/${enc(logName)}/events/${enc(id)}/proof`, {
    accept: 'text/plain',
  });
  return new Uint8Array(await res.arrayBuffer());
}

export function exportUrl(logName, filters) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(filters)) if (v) q.set(k, v);
  const qs = q.toString();
  return `/v1/logs/${enc(logName)}/export${qs ? `?${qs}` : ''}`;
}

/** Normalized API key: {id, label, role, created, revoked}. */
function normKey(x) {
  return {
    id: pick(x, 'id', 'key_id'),
    label: pick(x, 'label', 'name'),
    role: pick(x, 'role'),
    created: pick(x, 'created', 'created_at'),
    revoked: pick(x, 'revoked', 'revoked_at'),
  };
}

export async function keys(logName) {
  const j = await json('GET', `/v1/logs/${enc(logName)}/keys`);
  const list = Array.isArray(j) ? j : pick(j, 'keys', 'items') || [];
  return list.map(normKey);
}

/** Creates a key; resolves to {key (secret, shown once), ...normalized key}. */
export async function createKey(logName, label, role) {
  const j = await json('POST', `/v1/logs/${enc(logName)}/keys`, { body: { label, role } });
  return { ...normKey(j), secret: pick(j, 'key', 'secret', 'api_key') };
}

export async function revokeKey(logName, id) {
  await json('DELETE', `/v1/logs/${enc(logName)}/keys/${enc(id)}`);
}

/** The held calls of a log waiting for a decision: [{event_id, tool, agent, session, ts}]. */
export async function approvals(logName) {
  const j = await json('GET', `/v1/logs/${enc(logName)}/approvals`);
  return pick(j, 'pending') || [];
}

/** Decides a held call ('approved' or 'rejected'); resolves to {decision, reviewer, …}. */
export async function decide(logName, eventId, decision, reason) {
  const body = reason ? { decision, reason } : { decision };
  return json('POST', `/v1/logs/${enc(logName)}/approvals/${enc(eventId)}`, { body });
}
