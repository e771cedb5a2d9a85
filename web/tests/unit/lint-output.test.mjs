// How the page reads a lint's JSON (web/app/lint-output.js), without a browser: the parts' outputs
// put end to end as the lint of the whole text, and each rule's texts copied onto its findings.
// The browser tests show a real lint in parts reads as the lint by one worker.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { lintResult } from '../../app/lint-output.js';

const RULES = {
  SAG001: { ruleSlug: 'default-sa-automount', title: 'Default ServiceAccount mounts a token', remediation: 'set automountServiceAccountToken: false', docsAnchor: 'sag001' },
  SAG004: { ruleSlug: 'workload-default-sa', title: 'Workload on the default ServiceAccount', remediation: 'give it its own ServiceAccount', docsAnchor: 'sag004' },
};

const finding = (ruleId, line, extra = {}) => ({ id: `${line}:${ruleId}`, ruleId, span: { line }, ...extra });

function output({ objects, findings, rules, summary, exemptions = [], parseErrors = [] }) {
  return JSON.stringify({ summary, rules, objects, findings, exemptions, parseErrors });
}

test('one output is read as it is, with the rule texts on its findings', () => {
  const result = lintResult([
    output({ objects: [{ index: 0, line: 1 }], findings: [finding('SAG001', 3)], rules: { SAG001: RULES.SAG001 }, summary: { deny: 1, warn: 0, fixable: 1 } }),
  ]);
  assert.deepEqual(result.findings, [
    { id: '3:SAG001', ruleId: 'SAG001', span: { line: 3 }, ruleSlug: 'default-sa-automount', title: 'Default ServiceAccount mounts a token', remediation: 'set automountServiceAccountToken: false', docsAnchor: 'sag001' },
  ]);
  assert.deepEqual(result.summary, { deny: 1, warn: 0, fixable: 1 });
});

test("parts' outputs are put end to end: lists in order, counts added, every part's rule texts by id", () => {
  const result = lintResult([
    output({ objects: [{ index: 0, line: 1 }], findings: [finding('SAG004', 9)], rules: { SAG004: RULES.SAG004 }, summary: { deny: 0, warn: 1, fixable: 0 }, parseErrors: [{ line: 5 }] }),
    output({ objects: [{ index: 1, line: 20 }, { index: 2, line: 30 }], findings: [finding('SAG001', 22), finding('SAG004', 35)], rules: { SAG001: RULES.SAG001, SAG004: RULES.SAG004 }, summary: { deny: 1, warn: 1, fixable: 1 }, exemptions: [{ objectIndex: 2 }] }),
  ]);
  assert.deepEqual(result.objects.map((o) => o.index), [0, 1, 2]);
  assert.deepEqual(result.findings.map((f) => [f.id, f.title]), [
    ['9:SAG004', 'Workload on the default ServiceAccount'],
    ['22:SAG001', 'Default ServiceAccount mounts a token'],
    ['35:SAG004', 'Workload on the default ServiceAccount'],
  ]);
  assert.deepEqual(result.summary, { deny: 1, warn: 2, fixable: 1 });
  assert.deepEqual(result.exemptions, [{ objectIndex: 2 }]);
  assert.deepEqual(result.parseErrors, [{ line: 5 }]);
  // Sorted by id, as one worker's output lists them.
  assert.deepEqual(Object.keys(result.rules), ['SAG001', 'SAG004']);
});

test("a finding's own remediation is kept; an output with an error is read as it is", () => {
  const result = lintResult([output({ objects: [], findings: [finding('SAG001', 3, { remediation: 'bind a dedicated ServiceAccount' })], rules: { SAG001: RULES.SAG001 }, summary: { deny: 1, warn: 0, fixable: 0 } })]);
  assert.equal(result.findings[0].remediation, 'bind a dedicated ServiceAccount');
  assert.equal(result.findings[0].title, 'Default ServiceAccount mounts a token');
  assert.deepEqual(lintResult(['{"error":"invalid lint options: expected value at line 1 column 1"}']), { error: 'invalid lint options: expected value at line 1 column 1' });
});
