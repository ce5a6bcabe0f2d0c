/**
 * How a run's progress is shown. The Builder sends each build's events (started, stage, line,
 * finished) to a Reporter: the live task tree on a terminal, or plain prefixed lines elsewhere.
 */
import type { Writable } from 'node:stream';
import type { BuildResult, PackageDirectory } from '../options/types.ts';
import type { Stage } from './stages.ts';

export interface Reporter {
  /** The builds of the run, in order, before any starts. */
  begin(builds: string[]): void;
  /** A build left the queue and started. */
  started(build: string): void;
  stage(build: string, stage: Stage): void;
  line(build: string, line: string): void;
  finished(result: BuildResult): void;
  /** Every build has finished: stop rendering. */
  end(): Promise<void>;
  /** The run is interrupted: stop rendering at once, leaving the terminal usable. */
  abort(): void;
}

// CSI and OSC sequences (colours, cursor moves, titles), then any other C0 control or DEL but tab.
const ANSI = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-Z\\-_]/g;
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f\u0080-\u009f]/g;

/** `line` with escape sequences and control characters removed; a carriage return keeps what follows it. */
export function plainText(line: string): string {
  const lastReturn = line.replace(/\r+$/, '').lastIndexOf('\r');
  return (lastReturn === -1 ? line : line.slice(lastReturn + 1)).replace(ANSI, '').replace(CONTROL, '');
}

export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function formatSize(bytes: number | undefined): string {
  if (bytes === undefined) return '';
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(1)} kB`;
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** `; largest: /opt/app/app/node_modules 30.1 MB, …` for a build's last line, or nothing. */
export function largest(directories: PackageDirectory[] | undefined): string {
  if (!directories?.length) return '';
  return `; largest: ${directories.slice(0, 3).map((directory) => `${directory.path} ${formatSize(directory.size)}`).join(', ')}`;
}

/** Lines of a table for the terminal: columns padded to their widest cell, two spaces apart. */
export function textTable(header: string[], rows: string[][]): string[] {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  return [header, ...rows].map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd());
}

/** One line per event, `<build> | <text>`, build names padded to one width, no control characters. */
export class PlainReporter implements Reporter {
  private width = 0;

  constructor(private readonly out: Writable = process.stdout) {}

  private write(build: string, text: string): void {
    this.out.write(`${build.padEnd(this.width)} | ${plainText(text)}\n`);
  }

  begin(builds: string[]): void {
    this.width = Math.max(0, ...builds.map((build) => build.length));
  }

  started(build: string): void {
    this.write(build, '>> started');
  }

  stage(build: string, stage: Stage): void {
    this.write(build, `>> stage ${stage}`);
  }

  line(build: string, line: string): void {
    this.write(build, line);
  }

  finished(result: BuildResult): void {
    const after = formatDuration(result.durationMs);
    if (result.status === 'succeeded') this.write(result.name, `>> succeeded in ${after}: ${result.artifact}${largest(result.largestDirectories)}`);
    else if (result.status === 'cancelled') this.write(result.name, `>> cancelled after ${after}: ${result.error?.message ?? ''}`);
    else this.write(result.name, `>> FAILED in stage ${result.stage ?? '?'} after ${after}: ${result.error?.message ?? ''}`);
  }

  async end(): Promise<void> {}

  abort(): void {}
}

/** Shows nothing: for library use with a `log` callback, and for tests. */
export class SilentReporter implements Reporter {
  begin(): void {}
  started(): void {}
  stage(): void {}
  line(): void {}
  finished(): void {}
  async end(): Promise<void> {}
  abort(): void {}
}

/** 'auto': the tree on a terminal, plain lines when stdout is not one or CI is set. */
export function chooseProgress(
  wanted: 'auto' | 'tree' | 'plain' | 'silent',
  env: NodeJS.ProcessEnv = process.env,
  isTTY = Boolean(process.stdout.isTTY),
): 'tree' | 'plain' | 'silent' {
  if (wanted !== 'auto') return wanted;
  const ci = env.CI !== undefined && env.CI !== '' && env.CI !== 'false' && env.CI !== '0';
  return isTTY && !ci && env.TERM !== 'dumb' ? 'tree' : 'plain';
}
