// A lint's result from the adapter's JSON: one string when one worker linted the text, one per
// part when it was linted in parts (see "A lint in parts" in ../src/lib.rs). The worker posts
// the strings as they are and the page parses them: in Chromium here, posting 740 KB of JSON
// and parsing it on the page took 5.3 ms (4.0 on the page), against 11.2 ms (5.0 on the page)
// to parse it in the worker and post the objects, whose structured clone is rebuilt on the page.

/**
 * The parsed outputs of a text's parts as the lint of the whole text: each part's lists already
 * have the whole text's indices, lines and offsets, so they follow each other; the counts add
 * up, and the rules' texts are every part's, by rule id.
 */
function joinOutputs([whole, ...parts]) {
  for (const part of parts) {
    for (const list of ['objects', 'findings', 'exemptions', 'parseErrors']) whole[list] = whole[list].concat(part[list]);
    for (const [count, value] of Object.entries(part.summary)) whole.summary[count] += value;
    Object.assign(whole.rules, part.rules);
  }
  if (parts.length) whole.rules = Object.fromEntries(Object.entries(whole.rules).sort(([a], [b]) => (a < b ? -1 : 1)));
  return whole;
}

/** The outputs (JSON strings) parsed and joined. */
export const parsedLint = (outputs) => joinOutputs(outputs.map((json) => JSON.parse(json)));

/**
 * The adapter gives what all findings of a rule share once per lint (`rules`: slug, title,
 * remediation, docs anchor); the page reads it on each finding. A finding's own remediation,
 * when it has one, is kept.
 */
function withRuleTexts(output) {
  for (const finding of output.findings ?? []) {
    const rule = output.rules?.[finding.ruleId];
    if (!rule) continue;
    finding.ruleSlug = rule.ruleSlug;
    finding.title = rule.title;
    finding.remediation ??= rule.remediation;
    finding.docsAnchor = rule.docsAnchor;
  }
  return output;
}

/** The lint's result as the page reads it, from the outputs the worker posted. */
export const lintResult = (outputs) => withRuleTexts(parsedLint(outputs));
