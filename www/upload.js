// The Upload card: reading a .tflite file chosen or dropped by the user, its `ptq inspect` report, and
// loading it as a third model beside the others when it takes MNIST input. A file that cannot be read
// or run leaves the models loaded before in place.

import { Playground } from '../pkg/ptq_playground.js';
import { t } from './i18n.js';
import * as view from './view.js';
import { $, session, showError, hideError, message } from './page.js';
import { predictAll, renderModels } from './quant-panel.js';

/** Uploads larger than this are refused before reading (the reader has its own limits too). */
const UPLOAD_LIMIT = 64 * 1024 * 1024;

export async function upload(file) {
  if (!file || !session.pg) return;
  hideError('upload-error');
  if (file.size > UPLOAD_LIMIT) {
    showError('upload-error', 'upload.too-big', { size: view.kb(file.size), limit: view.kb(UPLOAD_LIMIT) });
    return;
  }
  const bytes = new Uint8Array(await file.arrayBuffer());
  let report;
  try {
    report = Playground.inspect(bytes);
  } catch (err) {
    showError('upload-error', 'upload.bad', { msg: `${message(err)} ${t('upload.kept')}` });
    return;
  }
  let info = null;
  try {
    info = session.pg.load_model('upload', bytes);
  } catch (err) {
    showError('upload-error', 'upload.cannot-run', { msg: `${message(err)} ${t('upload.kept')}` });
  }
  session.upload = { name: file.name, report, info };
  if (info) {
    session.info.upload = info;
    if (!info.takes_mnist) showError('upload-error', 'upload.not-mnist');
  }
  render();
  renderModels();
  predictAll();
}

export function render() {
  const u = session.upload;
  $('upload-report').hidden = !u;
  if (u) view.renderReport($('upload-report'), u.name, u.report, u.info);
}
