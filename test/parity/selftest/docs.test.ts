// Every docs section a deliberate row can name exists: the anchors in checks.ts
// (DOCS) and the doc of every row of parity-report.json, when a run left one.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DOCS } from '../checks.ts';
import { anchorsOf, docProblem, slug } from '../docs.ts';
import { repoRoot } from '../values.ts';

describe('docs anchors', () => {
  it("computes GitHub's anchors", () => {
    expect(slug('HOME comes from the resolved user')).toBe('home-comes-from-the-resolved-user');
    expect(slug('containerEnv in /etc/profile is quoted')).toBe('containerenv-in-etcprofile-is-quoted');
    expect(slug("The user's own git identity survives a reset")).toBe('the-users-own-git-identity-survives-a-reset');
    expect(slug('No `host.docker.internal`')).toBe('no-hostdockerinternal');
    expect([...anchorsOf('# A\n## A\n```\n# not a heading\n```\n### B c\n')]).toEqual(['a', 'a-1', 'b-c']);
  });

  it('every section the checks name exists', () => {
    for (const doc of Object.values(DOCS)) expect(docProblem(doc), doc).toBeUndefined();
  });

  it('says what is wrong with a missing file or heading', () => {
    expect(docProblem('docs/seed-deviations.md#no-such-heading')).toMatch(/has no heading with the anchor #no-such-heading/);
    expect(docProblem('docs/no-such-file.md#x')).toMatch(/no file docs\/no-such-file\.md/);
    expect(docProblem('README')).toMatch(/not of the form/);
  });

  // A report a run left at the repository root (none before the first run; the suite
  // itself fails a row whose doc is missing, report.ts checkDocs).
  it('every doc in parity-report.json, when a run left one, points to an existing heading', () => {
    const report = path.join(repoRoot, 'parity-report.json');
    const rows = existsSync(report) ? (JSON.parse(readFileSync(report, 'utf8')) as { results: { doc?: string }[] }).results : [];
    for (const doc of new Set(rows.map((r) => r.doc).filter((d): d is string => Boolean(d)))) expect(docProblem(doc), doc).toBeUndefined();
  });
});
