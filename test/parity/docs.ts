// The docs sections a deliberate row names (`docs/FILE.md#anchor`) must exist:
// an anchor is a heading's GitHub slug (lower case; punctuation other than `-`
// and `_` dropped; each space a `-`; a repeated slug gets `-1`, `-2`, …).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './values.ts';

/** GitHub's anchor for a heading's text (inline code and emphasis marks dropped first). */
export function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Every heading anchor of a Markdown text (fenced code blocks skipped). */
export function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const m = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = slug(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n ? `${base}-${n}` : base);
  }
  return anchors;
}

/** Why `docs/FILE.md#anchor` does not point at a heading of this repository, or undefined when it does. */
export function docProblem(doc: string, root = repoRoot): string | undefined {
  const m = /^(docs\/[^#]+\.md)#(.+)$/.exec(doc);
  if (!m) return `${doc}: not of the form docs/FILE.md#anchor`;
  let text: string;
  try {
    text = readFileSync(path.join(root, m[1]), 'utf8');
  } catch {
    return `${doc}: no file ${m[1]}`;
  }
  return anchorsOf(text).has(m[2]) ? undefined : `${doc}: ${m[1]} has no heading with the anchor #${m[2]}`;
}
