/** ndist's public API: what a package.ts imports. */
export { Builder, BuildsFailedError } from './builder.ts';
export { git, gitDirectory, directory } from './source.ts';
export { bootstrapImage } from './bootstrap.ts';
export { ConfigError, BuildError } from './errors.ts';
export type { BuildOptions, BuilderOptions, BuildResult, SourceSpec, Arch, Compression } from './types.ts';
