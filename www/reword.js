// The library's English sentences in the page's words, for the panels that show them (the deployment
// check's reasons, the designer's problems): a table of patterns, each with the key of its wording and
// the names of its parts. Loaded with those panels, not with the page.

import { tNodes } from './i18n.js';
import { el } from './view.js';

/**
 * `text` in the wording of the first pattern of `table` ([pattern, key, part names]) it matches, or null.
 * Each part goes in as `part(name, value)` gives it, or else as a left-to-right run of its own.
 */
export function reword(text, table, part = () => undefined) {
  for (const [pattern, key, parts] of table) {
    const m = text.match(pattern);
    if (!m) continue;
    const vars = {};
    parts.forEach((name, i) => {
      vars[name] = part(name, m[i + 1]) ?? el('bdi', { dir: 'ltr', text: m[i + 1] });
    });
    return tNodes(key, vars);
  }
  return null;
}
