/**
 * The error types ndist raises. The CLI prints ConfigError and BuildError without a stack:
 * they describe something the user can fix. Anything else is a bug in ndist.
 */

/** A build description or a machine entry is wrong. `field` names what to fix. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** A build failed while running: a tool exited non-zero, an image could not be built, etc. */
export class BuildError extends Error {
  override name = 'BuildError';
  constructor(
    message: string,
    readonly details: { build?: string; stage?: string; output?: string; cause?: unknown } = {},
  ) {
    super(message, { cause: details.cause });
  }
}

/** A repository operation was refused or failed: a version published twice, a tool missing, nothing to roll back to. */
export class RepositoryError extends Error {
  override name = 'RepositoryError';
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
