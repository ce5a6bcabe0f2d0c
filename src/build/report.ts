/**
 * What a run leaves behind besides the artifacts: `outDir/ndist-report.json` (inputs, images,
 * runtimes, artifacts with sha256, stage durations, errors), the summary table printed at the end,
 * and the markdown summary appended to GITHUB_STEP_SUMMARY. No environment value ever goes in.
 */
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import type { OsRelease } from '../machine/catalogue.ts';
import type { PackageFormat } from '../package/format.ts';
import type { PipelineResult } from './pipeline.ts';
import { formatDuration, formatSize, textTable } from '../progress/reporter.ts';
import type { BuildOptions, BuildResult, SourceSpec } from '../options/types.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';

export const REPORT_FILE = 'ndist-report.json';

export interface BuildRecord {
  options: BuildOptions;
  result: BuildResult;
  /** What the pipeline produced, when it got to the end. */
  pipeline?: PipelineResult;
  /** The target the machine builds for: `ndist publish` files the package under its release. */
  target?: { format: PackageFormat; os?: OsRelease };
}

/** A source as the report shows it: credentials in a git URL are left out. */
export function reportedSource(source: SourceSpec): SourceSpec {
  if (source.type !== 'git') return source;
  try {
    const url = new URL(source.uri);
    if (!url.username && !url.password) return source;
    url.username = '';
    url.password = '';
    return { ...source, uri: url.href };
  } catch {
    return source; // scp-like `user@host:path`: the user name is no secret
  }
}

function inputs(options: BuildOptions): Record<string, unknown> {
  const { name: _name, source, ...rest } = options;
  return { ...rest, source: reportedSource(source) };
}

export function buildReport(records: BuildRecord[], run: { outDir: string; startedAt: Date; concurrency: number; failFast: boolean; only?: string[]; version: string }) {
  const relative = (file: string | undefined) => (file ? path.relative(run.outDir, file) : undefined);
  return {
    ndist: run.version,
    startedAt: run.startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    durationMs: Date.now() - run.startedAt.getTime(),
    ok: records.every((record) => record.result.ok),
    settings: { concurrency: run.concurrency, failFast: run.failFast, ...(run.only ? { only: run.only } : {}) },
    builds: records.map(({ options, result, pipeline, target }) => ({
      name: result.name,
      status: result.status,
      ...(result.reused ? { reused: true } : {}),
      ...(result.engine ? { engine: result.engine } : {}),
      inputs: inputs(options),
      ...(pipeline
        ? {
            machine: { id: options.buildMachine, image: pipeline.image.tag, imageId: pipeline.image.id, ...target },
            ...(pipeline.commit ? { commit: pipeline.commit } : {}),
            runtime: { version: pipeline.runtime.version, source: pipeline.runtime.source, checksum: pipeline.runtime.checksum },
            packager: pipeline.packager,
            // From the result: signing rewrites the package after the pipeline.
            artifact: { file: relative(pipeline.artifact.path), size: result.size ?? pipeline.artifact.size, sha256: result.sha256 ?? pipeline.artifact.sha256 },
            ...(pipeline.sbom ? { sbom: { file: relative(pipeline.sbom.path), sha256: pipeline.sbom.sha256 } } : {}),
            ...(pipeline.largestDirectories ? { largestDirectories: pipeline.largestDirectories } : {}),
            ...(result.runtimePackage
              ? { runtimePackage: { file: relative(result.runtimePackage.path), size: result.runtimePackage.size, sha256: result.runtimePackage.sha256, reused: result.runtimePackage.reused } }
              : {}),
          }
        : { machine: { id: options.buildMachine } }),
      durationMs: result.durationMs,
      stages: result.stages ?? {},
      log: relative(result.log),
      ...(result.error ? { error: { message: result.error.message, ...(result.stage ? { stage: result.stage } : {}) } } : {}),
    })),
  };
}

/** Write the report atomically: a reader never sees half of it. */
export async function writeReport(outDir: string, report: unknown): Promise<string> {
  const file = path.join(outDir, REPORT_FILE);
  await writeFileAtomic(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}

function rows(results: BuildResult[], outDir: string): string[][] {
  return results.map((result) => [
    result.name,
    result.status === 'failed' ? `failed (${result.stage ?? '?'})` : result.reused ? 'up to date' : result.status,
    result.artifact ? path.relative(outDir, result.artifact) : '',
    formatSize(result.size),
    formatDuration(result.durationMs),
  ]);
}

const HEADER = ['BUILD', 'STATUS', 'ARTIFACT', 'SIZE', 'DURATION'];

/** The summary table printed at the end of a run. */
export function summaryTable(results: BuildResult[], outDir: string): string {
  return textTable(HEADER, rows(results, outDir)).join('\n');
}

/** The same summary as markdown, for GITHUB_STEP_SUMMARY. */
export function markdownSummary(results: BuildResult[], outDir: string, tails: Map<string, string[]>): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  const failed = results.filter((result) => result.status === 'failed');
  const lines = [
    `### ndist: ${results.length - failed.length - results.filter((r) => r.status === 'cancelled').length} of ${results.length} builds succeeded`,
    '',
    `| ${HEADER.map((title) => title.toLowerCase()).join(' | ')} |`,
    `| ${HEADER.map(() => '---').join(' | ')} |`,
    ...rows(results, outDir).map((row) => `| ${row.map(cell).join(' | ')} |`),
  ];
  for (const result of failed) {
    lines.push('', `<details><summary>${cell(result.name)}: ${cell(result.error?.message ?? 'failed')}</summary>`, '', '```', ...(tails.get(result.name) ?? []), '```', '</details>');
  }
  return `${lines.join('\n')}\n`;
}

export function appendStepSummary(file: string, markdown: string): void {
  appendFileSync(file, markdown);
}
