/**
 * The error contract: every error ndist raises on purpose is an NdistError, and carries the exit
 * code the CLI ends with. The CLI prints an NdistError without a stack: it describes something the
 * user can fix or a failure outside ndist. Anything else is a bug in ndist, reported as internal.
 */
import type { BuildResult } from './options/types.ts';

/** Exit codes of the `ndist` command, documented in the README ("Exit codes"). */
export const EXIT_CODES = {
  /** A build, a runtime download, a repository change or a cache operation failed. */
  failed: 1,
  /** A build description, a machine entry, a configuration file or a flag value is wrong. */
  config: 2,
  /** A bug in ndist (EX_SOFTWARE): the CLI asks for a report. */
  internal: 70,
} as const;

/**
 * The brand the CLI checks. A registered symbol, not instanceof or a class name: a package.ts may
 * load another copy of ndist than the CLI runs, and its errors must be recognised too.
 */
const NDIST_ERROR = Symbol.for('ndist.error');

export abstract class NdistError extends Error {
  readonly [NDIST_ERROR] = true;
  /** What `ndist` exits with when this error ends the command. */
  abstract readonly exitCode: number;
}

export function isNdistError(error: unknown): error is NdistError {
  return error instanceof Error && (error as unknown as Record<symbol, unknown>)[NDIST_ERROR] === true;
}

/** The exit code an error ends the CLI with: its own for an NdistError, else internal. */
export function exitCodeOf(error: unknown): number {
  return isNdistError(error) ? error.exitCode : EXIT_CODES.internal;
}

/** A build description or a machine entry is wrong. `field` names what to fix. */
export class ConfigError extends NdistError {
  override name = 'ConfigError';
  readonly exitCode = EXIT_CODES.config;
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** A build failed while running: a tool exited non-zero, an image could not be built, etc. */
export class BuildError extends NdistError {
  override name = 'BuildError';
  readonly exitCode = EXIT_CODES.failed;
  constructor(
    message: string,
    readonly details: { build?: string; stage?: string; output?: string; cause?: unknown } = {},
  ) {
    super(message, { cause: details.cause });
  }
}

/** A runtime (Node or npm) could not be fetched or verified. */
export class RuntimeError extends BuildError {
  override name = 'RuntimeError';
  constructor(message: string) {
    super(message, { stage: 'runtime' });
  }
}

/**
 * Raised by Builder.build() when at least one build failed; `results` holds every build's outcome.
 * When every failure is a configuration error found before its container (no lockfile, a missing
 * bin…), the run exits as a configuration error too.
 */
export class BuildsFailedError extends NdistError {
  override name = 'BuildsFailedError';
  readonly exitCode: number;
  constructor(readonly results: BuildResult[]) {
    const failed = results.filter((result) => result.status === 'failed');
    const cancelled = results.filter((result) => result.status === 'cancelled').length;
    const which = failed.map((result) => `${result.name} (${errorMessage(result.error)})`).join('; ');
    super(`${failed.length} of ${results.length} builds failed${cancelled ? ` (${cancelled} cancelled)` : ''}${which ? `: ${which}` : ''}`);
    const allConfig = failed.length > 0 && failed.every((result) => exitCodeOf(result.error) === EXIT_CODES.config);
    this.exitCode = allConfig ? EXIT_CODES.config : EXIT_CODES.failed;
  }
}

/** A repository operation was refused or failed: a version published twice, a tool missing, nothing to roll back to. */
export class RepositoryError extends NdistError {
  override name = 'RepositoryError';
  readonly exitCode = EXIT_CODES.failed;
}

/** `ndist cache ls|prune` could not read or remove a cache. */
export class CacheError extends NdistError {
  override name = 'CacheError';
  readonly exitCode = EXIT_CODES.failed;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `ndist verify` found a package that does not install, run, remove or purge cleanly; each failure is named. */
export class VerifyFailedError extends NdistError {
  override name = 'VerifyFailedError';
  readonly exitCode = EXIT_CODES.failed;
  constructor(readonly failures: string[]) {
    super(`${failures.length} package${failures.length === 1 ? '' : 's'} failed verify: ${failures.join('; ')}`);
  }
}
