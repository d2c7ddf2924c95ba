// The features spec's install order ("Installation order"): a graph of the
// features to install (the user's and everything they dependsOn), committed in
// rounds. A round is every feature whose hard dependencies (dependsOn) and soft
// dependencies (installsAfter, only among features in the set) are installed;
// of those, only the ones with the highest priority (overrideFeatureInstallOrder:
// the first entry highest) go in this round, sorted by a stable key. No candidate
// while features remain = a cycle.
import { UserError } from '../cli.ts';

export type OrderNode = {
  /** Unique in the set: the reference and its options. */
  key: string;
  /** registry/path without version (or the URL / local path): what installsAfter and the override name. */
  resource: string;
  /** Sorts a round: resource, then version, then options. */
  sortKey: string;
  /** Keys of the nodes this one dependsOn. */
  dependsOn: string[];
  /** Resources this one installsAfter (ignored when no node has that resource). */
  installsAfter: string[];
  /** For messages. */
  label: string;
};

/** Priorities from overrideFeatureInstallOrder: entry i of n gets n - i; an entry naming no feature is refused. */
export function overridePriorities(nodes: OrderNode[], override: string[], resourceOf: (s: string) => string): Map<string, number> {
  const prio = new Map<string, number>();
  override.forEach((entry, i) => {
    const resource = resourceOf(entry);
    const hits = nodes.filter((n) => n.resource === resource);
    if (!hits.length) {
      throw new UserError(`overrideFeatureInstallOrder[${i}]: ${JSON.stringify(entry)} names no feature being installed (features: ${[...new Set(nodes.map((n) => n.resource))].join(', ')})`);
    }
    for (const n of hits) prio.set(n.key, Math.max(prio.get(n.key) ?? 0, override.length - i));
  });
  return prio;
}

/** The nodes in install order, grouped in the rounds that committed them. */
export function installRounds<N extends OrderNode>(nodes: N[], priority: Map<string, number> = new Map()): N[][] {
  const byKey = new Map(nodes.map((n) => [n.key, n]));
  for (const n of nodes) {
    for (const d of n.dependsOn) if (!byKey.has(d)) throw new Error(`order: ${n.key} dependsOn ${d}, which is not in the graph`);
  }
  const present = new Set(nodes.map((n) => n.resource));
  const installed = new Set<string>();
  const rounds: N[][] = [];
  let left = [...nodes];
  const pendingOf = (resource: string) => left.filter((n) => n.resource === resource).length;
  while (left.length) {
    const ready = left.filter(
      (n) =>
        n.dependsOn.every((d) => installed.has(d)) &&
        n.installsAfter.every((r) => r === n.resource || !present.has(r) || pendingOf(r) === 0),
    );
    if (!ready.length) {
      const why = left.map((n) => {
        const waits = [...n.dependsOn.filter((d) => !installed.has(d)).map((d) => byKey.get(d)!.label), ...n.installsAfter.filter((r) => r !== n.resource && present.has(r) && pendingOf(r) > 0)];
        return `${n.label} waits for ${[...new Set(waits)].join(', ')}`;
      });
      throw new UserError(`features: a dependsOn/installsAfter cycle, no feature can be installed first: ${why.join('; ')}`);
    }
    const top = Math.max(...ready.map((n) => priority.get(n.key) ?? 0));
    const round = ready.filter((n) => (priority.get(n.key) ?? 0) === top).sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
    for (const n of round) installed.add(n.key);
    left = left.filter((n) => !installed.has(n.key));
    rounds.push(round);
  }
  return rounds;
}
