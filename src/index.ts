/** ndist's public API: what a package.ts imports. */
export { Builder, BuildsFailedError } from './builder.ts';
export { git, gitDirectory, directory } from './source.ts';
export { bootstrapImage } from './bootstrap.ts';
export { ConfigError, BuildError, RepositoryError } from './errors.ts';
export { publish, promote, rollback, listRepository, repositoryInstructions } from './repository/repository.ts';
export type { PublishOptions, PromoteOptions, RollbackOptions, RepositoryOptions } from './repository/repository.ts';
export type { BuildOptions, BuilderOptions, BuildResult, SourceSpec, Arch, Compression } from './types.ts';
