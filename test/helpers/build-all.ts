/**
 * An e2e test's build run: every build of `builder`, its results by name; when some fail, the
 * test fails with each failed build's stage, error and the last lines of its log.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { BuildsFailedError, type Builder } from '../../src/index.ts';
import type { BuildResult } from '../../src/index.ts';

export async function buildAll(builder: Builder, logLines = 60): Promise<Map<string, BuildResult>> {
  try {
    return new Map((await builder.build()).map((result) => [result.name, result]));
  } catch (error) {
    if (!(error instanceof BuildsFailedError)) throw error;
    const failures = await Promise.all(error.results.filter((result) => !result.ok).map(async (result) => {
      const log = result.log ? (await readFile(result.log, 'utf8').catch(() => '')).split('\n').slice(-logLines).join('\n') : '';
      return `${result.name}: ${result.status} in stage ${result.stage}: ${result.error?.message}\n${log}`;
    }));
    assert.fail(`builds failed:\n${failures.join('\n\n')}`);
  }
}
