/**
 * package.json's engines.node: the Node.js versions the app's authors say it runs on. A pinned
 * version outside it is refused before any container starts. semver (npm's own) reads the range
 * exactly as npm does.
 */
import semver from 'semver';
import { ConfigError } from '../errors.ts';

/** The Node.js version `ndist init` pins when not told one: the one ndist's own tests bundle. */
export const INIT_NODE_VERSION = '22.23.3';

/** engines.node when it is a range semver reads; npm ignores one it cannot read, and so does ndist. */
export function enginesNodeRange(engines: unknown): string | undefined {
  const range = (engines as { node?: unknown } | undefined)?.node;
  return typeof range === 'string' && semver.validRange(range) !== null ? range : undefined;
}

export function nodeInRange(node: string, range: string | undefined): boolean {
  return range === undefined || semver.satisfies(node, range);
}

/** Refuses `node` (field `field`) when it is outside `range`, naming both. */
export function checkNodeInRange(field: string, node: string, range: string | undefined): void {
  if (range === undefined || nodeInRange(node, range)) return;
  const example = nodeInRange(INIT_NODE_VERSION, range) ? `, e.g. ${INIT_NODE_VERSION}` : '';
  throw new ConfigError(field, `${node} is outside engines.node "${range}" of package.json; pick a version in that range${example}`);
}
