/** ndist's public API: what a package.ts imports. */
export { Builder } from './build/builder.ts';
export { git, gitDirectory, directory } from './build/source.ts';
export { bootstrapImage } from './machine/bootstrap.ts';
export { ConfigError, BuildError, BuildsFailedError, RepositoryError, RuntimeError, VerifyFailedError } from './errors.ts';
export { verify } from './verify/verify.ts';
export type { VerifyOptions, VerifyOutcome } from './verify/verify.ts';
export { publish, promote, rollback, listRepository, repositoryInstructions } from './repository/repository.ts';
export type { PublishOptions, PromoteOptions, RollbackOptions, RepositoryOptions } from './repository/repository.ts';
export type { BuildOptions, BuilderOptions, BuildResult, EngineOptions, SourceSpec, Arch, Compression, SmokeTest } from './options/types.ts';
