// Artifact Hub reads the chart's metadata from Chart.yaml annotations, each a YAML document
// inside a string: what it shows as "containers images" must be what the chart really runs
// (every container of every rendered pod, hooks and helm test pods included), so a changed
// image in values.yaml without the annotation fails here.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { chartDir, render, repoRoot, type Manifest } from './helm.ts';

const chart = parse(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8'));
const annotations: Record<string, string> = chart.annotations ?? {};

/** An annotation's YAML text, parsed; a missing one fails naming it. */
function annotation(name: string): any {
  const text = annotations[name];
  if (typeof text !== 'string') throw new Error(`charts/gitspace/Chart.yaml has no annotation ${name}`);
  return parse(text);
}

/** Every image of every container in the rendered pods (Deployment, Job, test Pods). */
function images(ms: Manifest[]): string[] {
  return ms.flatMap((m) => {
    const pod = m.kind === 'Pod' ? m.spec : m.spec?.template?.spec;
    if (!pod) return [];
    return [...(pod.initContainers ?? []), ...(pod.containers ?? []), ...(pod.ephemeralContainers ?? [])].map((c: any) => String(c.image));
  });
}

describe('Artifact Hub annotations', () => {
  it('artifacthub.io/images lists exactly the images helm template renders (defaults and every ci/ values file)', async () => {
    const ciFiles = readdirSync(join(chartDir, 'ci'))
      .filter((f) => f.endsWith('-values.yaml'))
      .map((f) => join(chartDir, 'ci', f));
    expect(ciFiles.length).toBeGreaterThan(0);
    const renders = [await render([]), ...(await Promise.all(ciFiles.map((f) => render([f]))))];
    const rendered = [...new Set(renders.flatMap(images))].sort();
    expect(rendered.length).toBeGreaterThan(0);

    const listed = annotation('artifacthub.io/images');
    expect(Array.isArray(listed)).toBe(true);
    for (const entry of listed) expect(Object.keys(entry).sort()).toEqual(['image', 'name']);
    expect(new Set(listed.map((e: any) => e.name)).size).toBe(listed.length);
    expect(listed.map((e: any) => e.image).sort()).toEqual(rendered);
  });

  it('artifacthub.io/license is the project license', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
    expect(annotations['artifacthub.io/license']).toBe(pkg.license);
  });

  it('artifacthub.io/links: each a name and an absolute https URL', () => {
    const links = annotation('artifacthub.io/links');
    expect(links.length).toBeGreaterThan(0);
    for (const l of links) {
      expect(Object.keys(l).sort()).toEqual(['name', 'url']);
      expect(l.name).not.toBe('');
      expect(new URL(l.url).protocol).toBe('https:');
    }
  });

  it('artifacthub.io/changes: each a kind Artifact Hub knows and a description', () => {
    const changes = annotation('artifacthub.io/changes');
    expect(changes.length).toBeGreaterThan(0);
    for (const c of changes) {
      expect(['added', 'changed', 'deprecated', 'removed', 'fixed', 'security']).toContain(c.kind);
      expect(typeof c.description).toBe('string');
      expect(c.description.length).toBeGreaterThan(0);
    }
  });
});
