// The state a link reopens, kept in the page's address (query): language (`lang`), conversion (`mode`),
// representative images (`samples`), test image (`image`) and, while the inside panel is open, its
// selected layer (`layer`, an operator's index). Each change the student makes adds a
// history entry, so Back and Forward step through them; a link with these parameters opens the page in
// that state. Values the page cannot take (an unknown mode, an image number out of range) are ignored.

import { session } from './page.js';

/** The state in the address, each field only where it is valid (`{lang?, mode?, samples?, image?, layer?}`). */
export function read(langs) {
  const q = new URLSearchParams(location.search);
  const out = {};
  if (langs.includes(q.get('lang'))) out.lang = q.get('lang');
  if (session.modes?.some((m) => m.id === q.get('mode'))) out.mode = q.get('mode');
  const whole = (key, lo, hi) => {
    const v = q.get(key);
    if (v === null || !/^\d+$/.test(v)) return;
    const n = Number(v);
    if (n >= lo && n <= hi) out[key] = n;
  };
  whole('samples', 1, 1000);
  whole('image', 0, (session.testCount ?? 1) - 1);
  whole('layer', 0, 100_000); // (the panel takes it only if the graph has that operator)
  return out;
}

let applying = false;

/** Put `state` in the address as a new history entry, or in place of the current one with `replace`
 * (not while a Back/Forward is being applied). */
export function write(state, replace = false) {
  if (applying) return;
  const q = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(state)) {
    if (v === null || v === undefined) q.delete(k);
    else q.set(k, String(v));
  }
  const next = `${location.pathname}?${q}${location.hash}`;
  if (replace) history.replaceState(null, '', next);
  else if (next !== `${location.pathname}${location.search}${location.hash}`) history.pushState(null, '', next);
}

/** On Back/Forward, hand the address's state to `apply(state)` (which must not write it again). */
export function follow(langs, apply) {
  addEventListener('popstate', () => {
    applying = true;
    try {
      apply(read(langs));
    } finally {
      applying = false;
    }
  });
}
