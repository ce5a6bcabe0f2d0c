/** ndist's public API: what a package.ts imports. */
export { Builder } from './build/builder.ts';
export { git, gitDirectory, directory } from './build/source.ts';
export { bootstrapImage } from './machine/bootstrap.ts';
export { ConfigError, BuildError, BuildsFailedError, RepositoryError, RuntimeError } from './errors.ts';
export { publish, promote, rollback, listRepository, repositoryInstructions } from './repository/repository.ts';
export type { PublishOptions, PromoteOptions, RollbackOptions, RepositoryOptions } from './repository/repository.ts';
export type { BuildOptions, BuilderOptions, BuildResult, EngineOptions, SourceSpec, Arch, Compression } from './options/types.ts';
