/**
 * No-op builds: the artifact of an earlier build with the same inputs, reused when its files are
 * all still there (and, for a shared runtime, its runtime package is still cached); no machine starts.
 */
import path from 'node:path';
import type { Artifact } from './artifact.ts';
import { findUpToDate, type UpToDateRecord } from '../cache/up-to-date.ts';
import { BuildError } from '../errors.ts';
import type { Machine } from '../machine/catalogue.ts';
import type { PackagerName } from '../package/packager.ts';
import { packagerNamed } from '../package/packagers.ts';
import { cachedRuntimePackage, provideRuntimePackage, runtimePackageKey, runtimePackageSpec } from '../package/runtime-package.ts';
import type { PackageSpec } from '../package/spec.ts';
import type { Stage } from '../progress/stages.ts';
import type { RuntimeArchive } from './runtime.ts';

export interface ReuseCheck {
  machine: Machine;
  outDir: string;
  cacheDir: string;
  force?: boolean;
  log: (line: string) => void;
  stage: (stage: Stage) => void;
  spec: PackageSpec;
  runtime: RuntimeArchive;
  /** The machine image's id as the build starts ('missing' before its first build). */
  imageId: string;
  /** The build's inputs hash with that image. */
  inputs: string;
}

/** The record of the earlier build and its runtime package, copied to outDir; else undefined, with the reason logged. */
export async function reuseEarlierBuild(check: ReuseCheck): Promise<{ record: UpToDateRecord; runtimePackage?: Artifact & { reused: boolean } } | undefined> {
  const { log, spec, runtime } = check;
  if (check.force) {
    log('up to date: not checked, --force rebuilds');
    return undefined;
  }
  if (check.imageId === 'missing') return undefined;
  const artifactPath = path.join(check.outDir, spec.fileName);
  const found = await findUpToDate(check.cacheDir, artifactPath, check.inputs);
  if (!('record' in found)) {
    log(`up to date: no, ${found.reason}`);
    return undefined;
  }
  const { record } = found;
  // A shared-runtime app is up to date only while its runtime package is still cached.
  const runtimeSpec = spec.sharedRuntime ? runtimePackageSpec(spec, runtime) : undefined;
  const runtimeKey = runtimeSpec && runtimePackageKey({ spec: runtimeSpec, runtime, machine: check.machine, imageId: check.imageId, packager: packagerNamed(record.packager as PackagerName) });
  if (runtimeSpec && runtimeKey && !cachedRuntimePackage(check.cacheDir, runtimeKey, runtimeSpec.fileName)) {
    log(`up to date: no, the runtime package ${runtimeSpec.fileName} is not in the cache`);
    return undefined;
  }
  check.stage('artifact');
  const runtimePackage = runtimeSpec && runtimeKey
    ? await provideRuntimePackage(check.cacheDir, runtimeKey, runtimeSpec.fileName, check.outDir, () => Promise.reject(new BuildError('the runtime package left the cache while this build used it (ndist cache prune?): run the build again', { stage: 'artifact' })), log)
    : undefined;
  log(`up to date: reusing ${artifactPath} (sha256 ${record.artifact.sha256}), built ${record.builtAt} from the same inputs; --force rebuilds`);
  return { record, ...(runtimePackage ? { runtimePackage } : {}) };
}
