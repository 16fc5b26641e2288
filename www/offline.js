// Registers the offline copy (sw.js at the site's root, written by scripts/build-site.sh) once the page
// is ready and has been left alone for a moment, and offers a new deployment when one has installed:
// the button asks it to take over and reloads the page. Without service workers (a plain-HTTP host, some private modes, a page opened from
// the disk) the page works as before, from the network.

import { t } from './i18n.js';
import { $ } from './page.js';

let waiting = null;

/** Show the "new version" button while a newer deployment waits. */
function offer(worker) {
  waiting = worker;
  const button = $('update');
  button.textContent = t('update.ready');
  button.hidden = false;
}

export function relabel() {
  if (waiting) $('update').textContent = t('update.ready');
}

/** How long the page must go without a pointer or key event before the offline copy installs. */
const QUIET_MS = 1500;

/** Install the offline copy at the first pause of QUIET_MS in the student's input: installing copies a
 * few MB into the cache, and on a two-core machine that competes with the strokes drawn meanwhile. */
export function register() {
  if (!('serviceWorker' in navigator) || !window.isSecureContext || location.protocol === 'file:') return;
  const events = ['pointerdown', 'pointermove', 'keydown', 'wheel', 'touchstart'];
  let timer = 0;
  const later = () => {
    clearTimeout(timer);
    timer = setTimeout(go, QUIET_MS);
  };
  const go = () => {
    for (const type of events) removeEventListener(type, later, { capture: true });
    install();
  };
  for (const type of events) addEventListener(type, later, { capture: true, passive: true });
  later();
}

async function install() {
  let registration;
  try {
    registration = await navigator.serviceWorker.register(new URL('../sw.js', import.meta.url));
  } catch {
    return; // no offline copy (e.g. a dev server without sw.js); the page still works online
  }
  if (!registration) return; // service workers blocked by the browser
  $('update').addEventListener('click', () => {
    if (!waiting) return;
    navigator.serviceWorker.addEventListener('controllerchange', () => location.reload(), { once: true });
    waiting.postMessage('take-over');
  });
  const watch = (worker) => {
    if (!worker) return;
    const check = () => {
      // a waiting worker while another controls the page is a new deployment
      if (worker.state === 'installed' && navigator.serviceWorker.controller) offer(worker);
    };
    worker.addEventListener('statechange', check);
    check();
  };
  watch(registration.waiting);
  registration.addEventListener('updatefound', () => watch(registration.installing));
}
