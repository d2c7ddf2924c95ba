#!/usr/bin/env node
// slim-chart.mjs SRC DEST: a copy of the chart SRC in DEST for `helm package`, without what a
// running gitspace never reads. Helm stores the whole chart in every release Secret of every
// gitspace and every revision (docs/fleet.md), so each byte here is paid N x revisions times.
//   - template comments {{/* ... */}}: the body goes, the trim markers stay ({{- /**/ -}}), so
//     the output is byte for byte the same; so is the indentation before a "{{-", which trims it;
//   - whole-line YAML comments (#) in templates with no block scalar (| or >), where YAML drops
//     them anyway: the rendered objects are the same (test/unit/fleet.test.ts renders both);
//   - values.schema.json without indentation and without descriptions (they are the README's
//     values table and values.yaml's comments, both in the package): helm validates the same.
//   - the README's generated values table (~13 KB, a quarter of each release Secret at 53 KB): the
//     same keys, types, defaults and descriptions are values.yaml's comments, in the package (and
//     shown by `helm show values` and Artifact Hub); the section says so.
// The README's prose, Chart.yaml (Artifact Hub metadata), values.yaml and every template stay.
import { cpSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const [src, dest] = process.argv.slice(2);
if (!src || !dest) {
  process.stderr.write('usage: slim-chart.mjs SRC DEST\n');
  process.exit(2);
}
rmSync(dest, { recursive: true, force: true });
cpSync(src, dest, { recursive: true, dereference: true });

const blockScalar = /(^|[:-])\s*[|>][-+0-9]*\s*$/m;
for (const e of readdirSync(join(dest, 'templates'), { recursive: true, withFileTypes: true })) {
  if (!e.isFile()) continue;
  const file = join(e.parentPath, e.name);
  let text = readFileSync(file, 'utf8');
  text = text.replace(/(\{\{-?\s*)\/\*[\s\S]*?\*\/(\s*-?\}\})/g, '$1/**/$2');
  // "{{-" trims every blank before it: the indentation before it is never output.
  text = text.replace(/^[ \t]+(?=\{\{-)/gm, '');
  if (/\.ya?ml$/.test(file) && !relative(dest, file).startsWith('templates/tests') && !blockScalar.test(text)) {
    text = text
      .split('\n')
      .filter((l) => !/^\s*#(?!!)/.test(l))
      .join('\n');
  }
  writeFileSync(file, text);
}
// The schema's descriptions are the values table of the README and the comments of values.yaml,
// both in the package; helm validates with the rest.
function bare(node, isPropertyMap = false) {
  if (Array.isArray(node)) return node.map((n) => bare(n));
  if (!node || typeof node !== 'object') return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    if (!isPropertyMap && (k === 'description' || k === '$comment') && typeof v === 'string') continue;
    out[k] = bare(v, !isPropertyMap && (k === 'properties' || k === 'patternProperties' || k === '$defs' || k === 'definitions'));
  }
  return out;
}
const schema = join(dest, 'values.schema.json');
writeFileSync(schema, JSON.stringify(bare(JSON.parse(readFileSync(schema, 'utf8')))));

// The README: its values table (the section "## Values", generated) becomes a pointer to values.yaml.
const readme = join(dest, 'README.md');
const text = readFileSync(readme, 'utf8');
const start = text.indexOf('\n## Values\n');
if (start < 0) {
  process.stderr.write(`slim-chart.mjs: ${readme} has no "## Values" section (generator/src/generate.ts writes it)\n`);
  process.exit(1);
}
const next = text.indexOf('\n## ', start + 1);
writeFileSync(
  readme,
  `${text.slice(0, start)}
## Values

Every value with its type, default and description: the comments of \`values.yaml\` in this package
(\`helm show values\`), checked by \`values.schema.json\`. The same as a table: \`charts/gitspace/README.md\`
in the project's repository (the package leaves it out: Helm stores the chart in every release).
${next < 0 ? '' : text.slice(next)}`,
);
