// The first worker's cut of a large text (web/app/plan.js), without a browser: parts end to end
// are the text, every part after the first starts with a document marker at the start of a line,
// and each part's `firstLine` counts the line breaks before it as the adapter does (`\n`, `\r\n`,
// a lone `\r`). The adapter checks all of this again (`parts_agree`); the browser tests show the
// parts lint as the whole.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { planParts } from '../../app/plan.js';

const doc = (name) => `apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: ${name}\n`;
const lineBreaks = (text) => (text.match(/\r\n|\r|\n/g) ?? []).length;

function assertCut(text, plan) {
  assert.equal(plan.map(({ from, to }) => text.slice(from, to)).join(''), text, 'the parts are the text');
  plan.forEach(({ from, to, firstLine }, k) => {
    assert.ok(from < to, `part ${k} is not empty`);
    assert.equal(firstLine, lineBreaks(text.slice(0, from)), `lines before part ${k}`);
    if (k === 0) return assert.equal(from, 0);
    assert.equal(from, plan[k - 1].to, `part ${k} follows part ${k - 1}`);
    assert.match(text.slice(from), /^---(?:[ \t\r\n]|$)/, `part ${k} starts with a marker`);
    assert.match(text[from - 1], /[\r\n]/, `part ${k}'s marker starts a line`);
  });
}

test('a text is cut at the first document marker after each equal share', () => {
  const text = Array.from({ length: 40 }, (_, i) => `---\n${doc(`sa-${i}`)}`).join('');
  for (const parts of [2, 3, 4]) {
    const plan = planParts(text, parts);
    assert.equal(plan.length, parts);
    assertCut(text, plan);
    plan.slice(1).forEach(({ from }, k) => {
      const share = Math.floor((text.length * (k + 1)) / parts);
      assert.ok(from >= share && !text.slice(share, from).includes('\n---\n'), 'the first marker at or after the share');
    });
  }
});

test('only a line that is `---` alone or before a blank is a marker', () => {
  const filler = doc('x').repeat(30);
  // `----`, `---x` and a `---` inside a line are no markers; `--- # note` and `---` at the end are.
  const text = `${filler}----\n${filler}---x: 1\n${filler}a: ---\n${filler}--- # note\n${doc('y')}`;
  const [, second] = planParts(text, 2);
  assert.equal(text.slice(second.from, second.from + 10), '--- # note');
  assertCut(text, planParts(text, 2));
  assert.equal(planParts(`${filler}---`, 2)[1].from, filler.length, 'a marker that ends the text');
});

test('line breaks of every kind are counted, and characters beyond ASCII by UTF-16 units', () => {
  const base = Array.from({ length: 30 }, (_, i) => `---\n# é 🚀 ${i}\n${doc(`sa-${i}`)}`).join('');
  for (const text of [base.replaceAll('\n', '\r\n'), base.replaceAll('\n', '\r'), base.replaceAll('\n---\n', '\r---\r\n')]) {
    for (const parts of [2, 3]) {
      const plan = planParts(text, parts);
      assert.equal(plan.length, parts);
      assertCut(text, plan);
    }
  }
});

test('a text without a marker after the first share is one part', () => {
  const text = `---\n${doc('a').repeat(200)}`;
  assert.deepEqual(planParts(text, 4), [{ from: 0, to: text.length, firstLine: 0 }]);
  const late = `${doc('a').repeat(200)}---\n${doc('b')}`;
  assert.equal(planParts(late, 4).length, 2, 'shares past the last marker are left out');
  assertCut(late, planParts(late, 4));
});
