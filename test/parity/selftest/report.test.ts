// mergeRows decides pass/fail for the whole suite: a difference, a wrong value
// agreed on by both runtimes, an error or a missing side must each fail.
import { describe, expect, it } from 'vitest';
import { checkDocs, markdownTable, mergeRows, summarize, summaryLine } from '../report.ts';

const both = ['docker', 'kubernetes'] as const;

describe('mergeRows', () => {
  it('passes equal values that match the expectation', () => {
    const [r] = mergeRows('c', { docker: [{ check: 'pwd', value: '/home/vscode', expected: '/home/vscode' }], kubernetes: [{ check: 'pwd', value: '/home/vscode', expected: '/home/vscode' }] }, [...both]);
    expect(r).toMatchObject({ case: 'c', check: 'pwd', docker: '/home/vscode', kubernetes: '/home/vscode', equal: true, ok: true, expected: '/home/vscode' });
  });

  it('fails a difference and shows both values', () => {
    const [r] = mergeRows('c', { docker: [{ check: 'pwd', value: '/home/vscode' }], kubernetes: [{ check: 'pwd', value: '/workspaces' }] }, [...both]);
    expect(r.ok).toBe(false);
    expect(r.equal).toBe(false);
    expect(markdownTable([r])).toContain('| pwd | /home/vscode | /workspaces | **FAIL**');
  });

  it('fails a wrong value even when both runtimes agree on it', () => {
    const o = { check: 'persist', value: 'lost', expected: 'kept' };
    const [r] = mergeRows('c', { docker: [o], kubernetes: [o] }, [...both]);
    expect(r.equal).toBe(true);
    expect(r.ok).toBe(false);
  });

  it('passes a deliberate difference where each runtime shows its own expected value and a doc says why', () => {
    const o = (value: string) => ({ check: 'pid1', value, expected: { docker: 'root', kubernetes: 'vscode' }, deliberate: { doc: 'docs/x.md#pid-1' } });
    const [r] = mergeRows('c', { docker: [o('root')], kubernetes: [o('vscode')] }, [...both]);
    expect(r).toMatchObject({ verdict: 'deliberate', doc: 'docs/x.md#pid-1', ok: true, equal: false, expected: { docker: 'root', kubernetes: 'vscode' } });
    expect(markdownTable([r])).toContain('| pid1 | root | vscode | deliberate: docs/x.md#pid-1 |');
  });

  it('fails a deliberate row where one runtime shows the other one\'s value', () => {
    const o = (value: string) => ({ check: 'pid1', value, expected: { docker: 'root', kubernetes: 'vscode' }, deliberate: { doc: 'docs/x.md#pid-1' } });
    expect(mergeRows('c', { docker: [o('vscode')], kubernetes: [o('vscode')] }, [...both])[0]).toMatchObject({ verdict: 'failed', ok: false });
    expect(mergeRows('c', { docker: [o('root')], kubernetes: [o('root')] }, [...both])[0]).toMatchObject({ verdict: 'failed', ok: false });
  });

  it('fails expected values that differ by runtime with no doc', () => {
    const o = (value: string) => ({ check: 'x', value, expected: { docker: 'a', kubernetes: 'b' } });
    const [r] = mergeRows('c', { docker: [o('a')], kubernetes: [o('b')] }, [...both]);
    expect(r.verdict).toBe('failed');
    expect(r.problem).toContain('no docs section');
  });

  it('fails when the two runtimes state different expectations for one check', () => {
    const [r] = mergeRows('c', { docker: [{ check: 'x', value: 'a', expected: 'a' }], kubernetes: [{ check: 'x', value: 'a', expected: 'b' }] }, [...both]);
    expect(r.verdict).toBe('failed');
  });

  it('marks equal rows equal, and counts verdicts in a summary line the demo greps', () => {
    const eq = mergeRows('c', { docker: [{ check: 'x', value: 'a', expected: 'a' }], kubernetes: [{ check: 'x', value: 'a', expected: 'a' }] }, [...both]);
    const bad = mergeRows('c', { docker: [{ check: 'y', value: 'a' }], kubernetes: [{ check: 'y', value: 'b' }] }, [...both]);
    expect(eq[0].verdict).toBe('equal');
    expect(summaryLine(eq)).toMatch(/^1 rows, 0 failed, 1 equal, 0 deliberate$/);
    expect(summarize([...eq, ...bad])).toEqual({ rows: 2, equal: 1, deliberate: 0, failed: 1 });
  });

  it('fails a deliberate row whose docs section does not exist', () => {
    const o = (value: string) => ({ check: 'x', value, expected: { docker: 'a', kubernetes: 'b' }, deliberate: { doc: 'docs/seed-deviations.md#no-such-heading' } });
    const rows = checkDocs(mergeRows('c', { docker: [o('a')], kubernetes: [o('b')] }, [...both]));
    expect(rows[0]).toMatchObject({ verdict: 'failed', ok: false });
    expect(rows[0].problem).toContain('no heading with the anchor #no-such-heading');
  });

  it('never reports a check that ran on one side only as equal', () => {
    const [r] = mergeRows('c', { docker: [{ check: 'x', value: 'a' }], kubernetes: [] }, [...both]);
    expect(r).toMatchObject({ kubernetes: 'not run', equal: false, ok: false });
  });

  it('fails an ERROR value', () => {
    const e = { check: 'x', value: 'ERROR: boom' };
    expect(mergeRows('c', { docker: [e], kubernetes: [e] }, [...both])[0].ok).toBe(false);
  });
});
