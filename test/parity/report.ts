// Merging both runtimes' observations into rows, and printing them: a
// Markdown table (stdout) and parity-report.json.
import type { Observation } from './checks.ts';
import type { RuntimeName } from './runtime.ts';

export interface Row {
  case: string;
  check: string;
  docker: string;
  kubernetes: string;
  equal: boolean;
  informational?: boolean;
  /** What a user must see, when known (per runtime when it differs). */
  expected?: string | Partial<Record<RuntimeName, string>>;
  note?: string;
  /** false: this row fails the suite, with `problem` saying why. */
  ok: boolean;
  problem?: string;
}

export const NOT_RUN = 'not run';
export const NOT_SELECTED = 'not selected';

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
    const informational = present.some((o) => o.informational);
    const problems: string[] = [];
    for (const rt of runtimes) {
      const o = obs[rt];
      if (!o) problems.push(`${rt}: not run`);
      else if (o.value.startsWith('ERROR')) problems.push(`${rt}: ${o.value}`);
      else if (o.expected !== undefined && o.value !== o.expected) problems.push(`${rt}: expected ${JSON.stringify(o.expected)}`);
    }
    const values = runtimes.map(value);
    const equal = runtimes.length > 1 && values.every((v) => v === values[0]) && present.length === runtimes.length;
    if (runtimes.length > 1 && !equal && !informational) problems.push('docker and kubernetes differ');
    const withExpected = runtimes.filter((rt) => obs[rt]?.expected !== undefined);
    const expecteds = Object.fromEntries(withExpected.map((rt) => [rt, obs[rt]?.expected as string]));
    const distinct = [...new Set(Object.values(expecteds))];
    const withNote = runtimes.filter((rt) => obs[rt]?.note);
    const notes = [...new Set(withNote.map((rt) => obs[rt]?.note as string))];
    const row: Row = {
      case: caseName,
      check,
      docker: value('docker'),
      kubernetes: value('kubernetes'),
      equal,
      ok: problems.length === 0,
    };
    if (informational) row.informational = true;
    if (distinct.length === 1) row.expected = distinct[0];
    else if (distinct.length > 1) row.expected = expecteds;
    if (notes.length === 1) row.note = notes[0];
    else if (notes.length > 1) row.note = withNote.map((rt) => `${rt}: ${obs[rt]?.note}`).join('; ');
    if (problems.length) row.problem = problems.join('; ');
    return row;
  });
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');

export function markdownTable(rows: Row[]): string {
  const lines: string[] = [];
  let current = '';
  for (const r of rows) {
    if (r.case !== current) {
      current = r.case;
      lines.push('', `### ${r.case}`, '', '| check | docker | kubernetes | result |', '|---|---|---|---|');
    }
    const single = r.docker === NOT_SELECTED || r.kubernetes === NOT_SELECTED;
    const result = !r.ok
      ? `**FAIL**: ${r.problem}`
      : r.equal
        ? 'equal'
        : single
          ? r.informational ? 'ok (informational)' : 'ok'
          : 'differs (informational)';
    lines.push(`| ${cell(r.check)} | ${cell(r.docker)} | ${cell(r.kubernetes)} | ${cell(result)} |`);
  }
  return lines.join('\n') + '\n';
}
