// The TensorFlow code view of the options panel: the Python that makes the chosen conversion with
// TensorFlow's converter and runs the file with LiteRT (www/tf-code.js writes it; tests/tf_code checks
// it with TensorFlow), a copy button, and what keeps TensorFlow's file from being the page's where
// something does.

import { t } from './i18n.js';
import { $, session } from './page.js';
import * as view from './view.js';
import { tfCode } from './tf-code.js';

let program = '';

/** The view's elements (folded until opened). */
export function build() {
  const copy = view.el('button', { type: 'button', id: 'tf-copy', 'data-testid': 'tf-copy', 'data-i18n': 'tf.copy', onclick: copyCode });
  return view.el('details', { class: 'tfcode', id: 'tf-box', 'data-testid': 'tf-box' },
    view.el('summary', { 'data-i18n': 'tf.title' }),
    view.el('p', { class: 'small', 'data-i18n': 'tf.intro' }),
    view.el('p', { class: 'small note', id: 'tf-differs', 'data-testid': 'tf-differs', hidden: true }),
    view.el('div', { class: 'row' }, copy, view.el('span', { class: 'small', id: 'tf-copied', 'aria-live': 'polite' })),
    view.el('pre', { class: 'code', tabindex: '0', dir: 'ltr', 'aria-labelledby': 'tf-box' },
      view.el('code', { id: 'tf-code', 'data-testid': 'tf-code' })));
}

/** Show the program for settings `s`, saving to `file`. */
export function update(s, file) {
  const code = s.samples === null ? null : tfCode(s, file, session.floatDesign ?? null);
  program = code ? `${code.model}\n${code.convert}\n${code.run}` : '';
  $('tf-code').textContent = code ? program : t('tf.none', { mode: t(`mode.${s.mode}`) });
  $('tf-copy').disabled = !code;
  $('tf-copied').textContent = '';
  const why = $('tf-differs');
  why.hidden = !code?.differs.length;
  why.textContent = code ? code.differs.map((d) => t(`tf.differs.${d}`)).join(' ') : '';
}

async function copyCode() {
  try {
    await navigator.clipboard.writeText(program);
    $('tf-copied').textContent = t('tf.copied');
  } catch {
    // no clipboard (permission, plain HTTP): select the code for the keyboard's own copy
    const range = document.createRange();
    range.selectNodeContents($('tf-code'));
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    $('tf-copied').textContent = t('tf.selected');
  }
}
