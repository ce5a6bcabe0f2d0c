/**
 * The full output of each build in `outDir/logs/<build>.log`, written line by line with a
 * synchronous write, so that what is on disk is complete even when the process exits on a signal.
 * The last lines are also kept in memory, to show when the build fails.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';

const TAIL_LINES = 200;

/** A file name for a build name: `hello :: bookworm` → `hello-bookworm`. */
export function logFileName(build: string): string {
  return build.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '') || 'build';
}

export class BuildLog {
  private fd: number | undefined;
  private readonly lines: string[] = [];
  private readonly started = Date.now();

  constructor(readonly file: string) {
    mkdirSync(path.dirname(file), { recursive: true });
    // Truncated: the log of a previous run of the same build is replaced.
    this.fd = openSync(file, 'w');
  }

  write(line: string): void {
    this.lines.push(line);
    if (this.lines.length > TAIL_LINES) this.lines.shift();
    if (this.fd === undefined) return;
    const elapsed = ((Date.now() - this.started) / 1000).toFixed(1).padStart(6);
    writeSync(this.fd, `[${elapsed}s] ${line}\n`);
  }

  /** The last `count` lines written. */
  tail(count: number): string[] {
    return this.lines.slice(-count);
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}

/** The logs of one run: one file per build under `dir`, names made unique. */
export class BuildLogs {
  private readonly byBuild = new Map<string, BuildLog>();
  private readonly files = new Set<string>();

  constructor(readonly dir: string) {}

  open(build: string): BuildLog {
    const base = logFileName(build);
    let name = base;
    for (let n = 2; this.files.has(name); n++) name = `${base}-${n}`;
    this.files.add(name);
    const log = new BuildLog(path.join(this.dir, `${name}.log`));
    this.byBuild.set(build, log);
    return log;
  }

  get(build: string): BuildLog | undefined {
    return this.byBuild.get(build);
  }

  closeAll(): void {
    for (const log of this.byBuild.values()) log.close();
  }
}
