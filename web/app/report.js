// Downloadable reports of the current lint: the playground's own JSON, and SARIF 2.1.0 (what
// GitHub code scanning and most security dashboards import).

const SARIF_LEVEL = { deny: 'error', warn: 'warning', off: 'none' };

/** 1-based line and code-point column of a UTF-16 offset into the linted text. */
function lineColumnAt(text, offset) {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line += 1;
    lineStart = i + 1;
  }
  return { line, column: [...text.slice(lineStart, offset)].length + 1 };
}

export function jsonReport({ version, fileName, settings, result }) {
  return {
    tool: { name: 'sa-guard', version, via: 'playground' },
    file: fileName,
    settings,
    summary: result.summary,
    settingsError: result.settingsError ?? null,
    parseErrors: result.parseErrors,
    findings: result.findings,
    exemptions: result.exemptions,
  };
}

export function sarifReport({ version, fileName, text, result, rules, docsUrl }) {
  const ruleIndex = new Map(rules.map((rule, i) => [rule.id, i]));
  const artifactLocation = { uri: fileName };
  const region = (span) => ({ startLine: span.line, startColumn: span.column, endLine: span.endLine, endColumn: span.endColumn });
  const results = result.findings.map((finding) => {
    const sarif = {
      ruleId: finding.ruleId,
      ruleIndex: ruleIndex.get(finding.ruleId),
      level: SARIF_LEVEL[finding.level] ?? 'warning',
      message: { text: finding.message },
      locations: [
        {
          physicalLocation: { artifactLocation, region: region(finding.span) },
          logicalLocations: [
            { fullyQualifiedName: `${finding.object.kind}/${finding.object.namespace ? `${finding.object.namespace}/` : ''}${finding.object.name}${finding.path}`, kind: 'member' },
          ],
        },
      ],
      partialFingerprints: { 'saGuardFinding/v1': `${finding.ruleId}:${finding.object.kind}:${finding.object.namespace ?? ''}:${finding.object.name}:${finding.path}` },
      properties: { document: finding.document, object: finding.object, path: finding.path, remediation: finding.remediation },
    };
    const edit = finding.fix?.edit;
    if (edit) {
      const end = lineColumnAt(text, edit.to);
      sarif.fixes = [
        {
          description: { text: finding.fix.description },
          artifactChanges: [
            {
              artifactLocation,
              replacements: [
                {
                  deletedRegion: { startLine: edit.line, startColumn: edit.column, endLine: end.line, endColumn: end.column },
                  insertedContent: { text: edit.insert },
                },
              ],
            },
          ],
        },
      ];
    }
    return sarif;
  });
  const notifications = result.parseErrors.map((error) => ({
    level: 'error',
    message: { text: error.document === null ? error.message : `YAML document ${error.document + 1}: ${error.message}` },
    locations: [{ physicalLocation: { artifactLocation, region: region(error.span) } }],
  }));
  if (result.settingsError) notifications.push({ level: 'error', message: { text: result.settingsError } });
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'sa-guard',
            version,
            informationUri: docsUrl,
            rules: rules.map((rule) => ({
              id: rule.id,
              name: rule.slug,
              shortDescription: { text: rule.title },
              fullDescription: { text: rule.summary },
              help: { text: rule.remediation, markdown: rule.documentation },
              helpUri: `${docsUrl}#${rule.docsAnchor}`,
              defaultConfiguration: { level: SARIF_LEVEL[rule.defaultLevel] ?? 'warning' },
              properties: { category: rule.category, scope: rule.scope, fixable: rule.fixable, tags: ['kubernetes', 'serviceaccount', rule.category] },
            })),
          },
        },
        // The linter counts columns in characters (code points), not UTF-16 units.
        columnKind: 'unicodeCodePoints',
        artifacts: [{ location: artifactLocation, mimeType: 'application/yaml' }],
        invocations: [{ executionSuccessful: result.parseErrors.length === 0 && !result.settingsError, toolExecutionNotifications: notifications }],
        results,
      },
    ],
  };
}
