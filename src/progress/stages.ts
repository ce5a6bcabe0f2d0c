/**
 * The stages of a build, in the order they run, as the progress display and the report show them.
 * The pipeline announces source, runtime, image, dependencies and artifact; the build script
 * announces its own sections with lines starting `==> ` (see templates/debian.sh.hbs).
 */
export const STAGES = ['source', 'runtime', 'image', 'dependencies', 'script', 'package', 'artifact'] as const;
export type Stage = (typeof STAGES)[number];

/** What each stage does, for the task tree. */
export const STAGE_TITLES: Record<Stage, string> = {
  source: 'source: fetch the app',
  runtime: 'runtime: Node.js and npm, verified',
  image: 'image: the build machine',
  dependencies: 'dependencies: container, build deps, npm ci',
  script: 'script: stage the package tree',
  package: 'package: run the packager',
  artifact: 'artifact: copy out, sha256',
};

/**
 * The stage a line of build-script output starts, if it is a section marker:
 * `==> build dependencies` and `==> dependencies…` start "dependencies", `==> package…` starts
 * "package", any other `==> ` section starts "script".
 */
export function scriptStage(line: string): Stage | undefined {
  const marker = /^==> (\S+)(?:\s+(\S+))?/.exec(line);
  if (!marker) return undefined;
  const word = marker[1]!.replace(/:$/, '');
  if (word === 'dependencies' || (word === 'build' && marker[2]?.startsWith('dependencies'))) return 'dependencies';
  if (word === 'package') return 'package';
  return 'script';
}
