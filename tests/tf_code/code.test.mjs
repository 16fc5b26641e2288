// The TensorFlow code view's program (www/tf-code.js) is the one check_tf_code.py last ran with
// TensorFlow, and that run found TF's files equal to ptq's except where a case names a known difference.
// (TensorFlow is too heavy for CI: after changing the generator, run check_tf_code.py again, which
// rewrites report.json; until then this test fails.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CASES } from './cases.mjs';

const report = JSON.parse(readFileSync(new URL('./report.json', import.meta.url), 'utf8'));

test('the generated code is the code TensorFlow ran', () => {
  assert.equal(report.tensorflow, '2.21.0');
  assert.deepEqual(report.cases.map((c) => c.name), CASES.map((c) => c.name));
  CASES.forEach((c, i) => {
    assert.deepEqual(report.cases[i].code, c.code, `${c.name}: the generator changed since the TensorFlow check`);
    assert.deepEqual(report.cases[i].settings, c.settings);
    assert.deepEqual(report.cases[i].cli, c.cli);
  });
});

test('TensorFlow\'s files from that code equal ptq\'s, but for the known differences', () => {
  assert.equal(report.float_rebuilt_max_diff, 0);
  assert.ok(report.images >= 1000);
  for (const c of report.cases) {
    assert.equal(c.ok, true, c.name);
    if (c.known_difference) {
      assert.equal(c.same_tensors && c.max_raw_diff === 0, false, c.name);
    } else {
      assert.equal(c.same_tensors, true, c.name);
      assert.equal(c.max_raw_diff, 0, c.name);
    }
    assert.match(c.litert_code_printed, /prediction: \d/, c.name);
  }
});

test('for a design, the generated code is the code TensorFlow checked against the presets', async () => {
  const { designModelCode } = await import('../../www/tf-code.js');
  const checked = JSON.parse(readFileSync(new URL('../fixtures/design/tf_code_presets.json', import.meta.url), 'utf8'));
  assert.equal(checked.tensorflow, '2.21.0');
  assert.deepEqual(Object.keys(checked.presets), ['tutorial', 'deep', 'mlp', 'mobile']);
  for (const [name, p] of Object.entries(checked.presets)) {
    // make_preset_quant.py built each network from this code and found Keras's layers and outputs equal
    assert.equal(p.same_layers, true, name);
    assert.equal(p.max_diff, 0, name);
    assert.equal(designModelCode(p.design), p.code, `${name}: the generator changed since the TensorFlow check`);
  }
});
