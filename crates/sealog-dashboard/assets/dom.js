// DOM helpers. Every value reaches the page through createElement / textContent /
// setAttribute; nothing here parses HTML, so data can never become markup.

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * h('tag.class', {attr: value, onclick: fn}, ...children): children are nodes, strings
 * (inserted as text) or arrays; null/undefined/false are skipped.
 */
export function h(spec, attrs, ...children) {
  const [tag, ...classes] = spec.split('.');
  const el = document.createElement(tag || 'div');
  if (classes.length) el.className = classes.join(' ');
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** Same as h() for SVG elements. */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'value') {
      el.value = v;
    } else if (k === 'checked') {
      el.checked = Boolean(v);
    } else if (k === 'href') {
      el.setAttribute('href', safeHref(String(v)));
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
}

/** Links only ever point into this origin (relative paths or #routes). */
function safeHref(v) {
  return v.startsWith('/') || v.startsWith('#') ? v : '#';
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Replaces an element's children. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/**
 * Text for display: shown literally by textContent already; control characters are made
 * visible (as \u escapes) so they cannot hide or reorder what is shown.
 */
export function txt(v) {
  if (v === null || v === undefined) return '';
  const str = typeof v === 'string' ? v : JSON.stringify(v);
  return str.replace(INVISIBLE, escapeChar);
}

const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/g;
const INVISIBLE_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/g;
const escapeChar = (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/**
 * Like txt() for multi-line text such as pretty-printed JSON (whose strings JSON.stringify has
 * already escaped): line breaks stay, every other invisible character is made visible.
 */
export function lines(str) {
  return String(str).replace(INVISIBLE_BUT_NEWLINE, escapeChar);
}

/** Relative age of an RFC 3339 time or epoch milliseconds, e.g. "5 min ago". */
export function age(t) {
  const ms = typeof t === 'number' ? t : Date.parse(t);
  if (!Number.isFinite(ms)) return '';
  const s = Math.round((Date.now() - ms) / 1000);
  if (s < 0) return 'in the future';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** A definition list from [label, value] pairs, skipping empty values. */
export function dl(pairs) {
  return h('dl.kv', null, pairs.filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => [h('dt', null, k), h('dd', null, v instanceof Node ? v : txt(v))]));
}
