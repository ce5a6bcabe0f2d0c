/**
 * What a walk over a source tree leaves out at its root. The source hash (cache/up-to-date.ts), the
 * tar stream into the build machine (machine/inputs.ts) and the source's newest time
 * (build/source.ts) all ask this one function: a build is skipped as up to date only when what it
 * would stream in is what was hashed.
 */

/** A name left out, or a pattern the names left out match. */
export type ExcludeRule = string | RegExp;

/** Whether `name`, a child of a tree's root, is left out by `rules`. */
export function isExcluded(name: string, rules: readonly ExcludeRule[]): boolean {
  return rules.some((rule) => (typeof rule === 'string' ? rule === name : rule.test(name)));
}
