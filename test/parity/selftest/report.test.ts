// mergeRows decides pass/fail for the whole suite: a difference, a wrong value
// agreed on by both runtimes, an error or a missing side must each fail.
import { describe, expect, it } from 'vitest';
import { markdownTable, mergeRows } from '../report.ts';

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

  it('lets an informational difference pass, but not a wrong value on one side', () => {
    const ok = mergeRows('c', { docker: [{ check: 'pid1', value: 'root', informational: true }], kubernetes: [{ check: 'pid1', value: 'vscode', informational: true }] }, [...both]);
    expect(ok[0]).toMatchObject({ ok: true, equal: false, informational: true });
    const bad = mergeRows(
      'c',
      {
        docker: [{ check: 'ws', value: 'does not exist', expected: 'does not exist', informational: true }],
        kubernetes: [{ check: 'ws', value: 'does not exist', expected: 'same directory', informational: true }],
      },
      [...both],
    );
    expect(bad[0].ok).toBe(false);
    expect(bad[0].expected).toEqual({ docker: 'does not exist', kubernetes: 'same directory' });
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
