// Merging both runtimes' observations into rows with a verdict, and printing
// them: a Markdown table (stdout) and parity-report.json.
//
// Verdicts (docs/parity.md, "Verdicts"):
//   equal       both runtimes show the same value, and it is the expected one when a check knows it
//   deliberate  the check expects a different value on each runtime, each runtime shows its own,
//               and `doc` names the section of the docs that says why
//   failed      anything else: a wrong value (even one both runtimes agree on), an unexplained
//               difference, an error, a side that did not run
import type { Observation } from './checks.ts';
import { docProblem } from './docs.ts';
import type { RuntimeName } from './runtime.ts';

export type Verdict = 'equal' | 'deliberate' | 'failed';

export interface Row {
  case: string;
  check: string;
  docker: string;
  kubernetes: string;
  verdict: Verdict;
  /** The docs section explaining a deliberate difference: `docs/FILE.md#anchor`. */
  doc?: string;
  equal: boolean;
  /** What a user must see, when known: one value, or each runtime's own (a deliberate row). */
  expected?: string | Partial<Record<RuntimeName, string>>;
  note?: string;
  /** false: this row fails the suite, with `problem` saying why. */
  ok: boolean;
  problem?: string;
}

export const NOT_RUN = 'not run';
export const NOT_SELECTED = 'not selected';

/** The value a runtime must show, from an observation's expectation. */
export function expectedFor(o: Observation, rt: RuntimeName): string | undefined {
  if (o.expected === undefined || typeof o.expected === 'string') return o.expected;
  return o.expected[rt];
}

/** Whether an observation expects different values on the two runtimes. */
function differsByDesign(o: Observation): boolean {
  return typeof o.expected === 'object' && o.expected.docker !== o.expected.kubernetes;
}

/** One row per check label, in first-seen order; a side with no observation is "not run". */
export function mergeRows(caseName: string, byRuntime: Partial<Record<RuntimeName, Observation[]>>, runtimes: RuntimeName[]): Row[] {
  const labels: string[] = [];
  const index = new Map<RuntimeName, Map<string, Observation>>();
  for (const rt of runtimes) {
    const m = new Map<string, Observation>();
    for (const o of byRuntime[rt] ?? []) {
      if (!labels.includes(o.check)) labels.push(o.check);
      m.set(o.check, o);
    }
    index.set(rt, m);
  }
  return labels.map((check) => {
    const obs = Object.fromEntries(runtimes.map((rt) => [rt, index.get(rt)?.get(check)])) as Partial<Record<RuntimeName, Observation>>;
    const value = (rt: RuntimeName) => (runtimes.includes(rt) ? (obs[rt]?.value ?? NOT_RUN) : NOT_SELECTED);
    const present = runtimes.map((rt) => obs[rt]).filter((o): o is Observation => Boolean(o));
    const problems: string[] = [];
    for (const rt of runtimes) {
      const o = obs[rt];
      const want = o && expectedFor(o, rt);
      if (!o) problems.push(`${rt}: not run`);
      else if (o.value.startsWith('ERROR')) problems.push(`${rt}: ${o.value}`);
      else if (want !== undefined && o.value !== want) problems.push(`${rt}: expected ${JSON.stringify(want)}`);
    }
    // Both sides must state the same expectations and the same reason (one check, written once).
    const stated = new Set(present.map((o) => JSON.stringify([o.expected ?? null, o.deliberate?.doc ?? null])));
    if (stated.size > 1) problems.push('the runtimes state different expectations for this check');
    const byDesign = present.some(differsByDesign);
    const doc = present.find((o) => o.deliberate?.doc)?.deliberate?.doc;
    if (byDesign && !doc) problems.push('the expected values differ by runtime but no docs section says why');
    const values = runtimes.map(value);
    const equal = runtimes.length > 1 && values.every((v) => v === values[0]) && present.length === runtimes.length;
    if (runtimes.length > 1 && !equal && !byDesign) problems.push('docker and kubernetes differ');

    const withExpected = runtimes.filter((rt) => obs[rt] && expectedFor(obs[rt] as Observation, rt) !== undefined);
    const expecteds = Object.fromEntries(withExpected.map((rt) => [rt, expectedFor(obs[rt] as Observation, rt) as string]));
    const distinct = [...new Set(Object.values(expecteds))];
    const withNote = runtimes.filter((rt) => obs[rt]?.note);
    const notes = [...new Set(withNote.map((rt) => obs[rt]?.note as string))];
    const verdict: Verdict = problems.length ? 'failed' : byDesign ? 'deliberate' : 'equal';
    const row: Row = {
      case: caseName,
      check,
      docker: value('docker'),
      kubernetes: value('kubernetes'),
      verdict,
      equal,
      ok: problems.length === 0,
    };
    if (byDesign && doc) row.doc = doc;
    if (distinct.length === 1 && !byDesign) row.expected = distinct[0];
    else if (distinct.length) row.expected = expecteds;
    if (notes.length === 1) row.note = notes[0];
    else if (notes.length > 1) row.note = withNote.map((rt) => `${rt}: ${obs[rt]?.note}`).join('; ');
    if (problems.length) row.problem = problems.join('; ');
    return row;
  });
}

/** A deliberate row whose docs section does not exist fails (docs.ts). */
export function checkDocs(rows: Row[], problem: (doc: string) => string | undefined = docProblem): Row[] {
  for (const r of rows) {
    const p = r.doc && problem(r.doc);
    if (!p) continue;
    r.verdict = 'failed';
    r.ok = false;
    r.problem = r.problem ? `${r.problem}; ${p}` : p;
  }
  return rows;
}

/** Counts per verdict. */
export function summarize(rows: Row[]): { rows: number; equal: number; deliberate: number; failed: number } {
  const n = (v: Verdict) => rows.filter((r) => r.verdict === v).length;
  return { rows: rows.length, equal: n('equal'), deliberate: n('deliberate'), failed: n('failed') };
}

/** The summary line (scripts/demo.sh and test/demo/run.sh read `^N rows, 0 failed`). */
export function summaryLine(rows: Row[]): string {
  const s = summarize(rows);
  return `${s.rows} rows, ${s.failed} failed, ${s.equal} equal, ${s.deliberate} deliberate`;
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');

export function markdownTable(rows: Row[]): string {
  const lines: string[] = [];
  let current = '';
  for (const r of rows) {
    if (r.case !== current) {
      current = r.case;
      lines.push('', `### ${r.case}`, '', '| check | docker (reference) | kubernetes (chart) | verdict |', '|---|---|---|---|');
    }
    const single = r.docker === NOT_SELECTED || r.kubernetes === NOT_SELECTED;
    const result =
      r.verdict === 'failed'
        ? `**FAIL**: ${r.problem}`
        : r.verdict === 'deliberate'
          ? `deliberate: ${r.doc}`
          : single
            ? 'as expected (one runtime)'
            : 'equal';
    lines.push(`| ${cell(r.check)} | ${cell(r.docker)} | ${cell(r.kubernetes)} | ${cell(result)} |`);
  }
  return lines.join('\n') + '\n';
}
