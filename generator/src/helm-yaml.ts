// YAML that Helm reads back as written. Helm's reader (go-yaml v2 through sigs.k8s.io/yaml)
// still follows YAML 1.1, where bare on/off, yes/no and y/n are booleans (keys too): a
// containerEnv entry `N: on` would reach the chart as `false: true`. Writing as YAML 1.1
// quotes every such string, so each value keeps its type on both readers.
import { stringify, type ToStringOptions } from 'yaml';

export function helmYaml(value: unknown, opts: ToStringOptions = {}): string {
  return stringify(value, { ...opts, version: '1.1' });
}
