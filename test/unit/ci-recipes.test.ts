/** The CI recipes in examples/ci parse, and run exactly the ndist commands the README documents. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

/** The commands of the first ```sh block under "### CI recipes" in the README. */
async function documentedCommands(): Promise<string[]> {
  const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### CI recipes'));
  const block = /```sh\n([\s\S]*?)```/.exec(section);
  assert.ok(block, 'README has a sh block under "### CI recipes"');
  return block[1]!.trim().split('\n');
}

const ndistOnly = (commands: string[]) => commands.filter((command) => /\bndist\b/.test(command));

describe('CI recipes', () => {
  test('GitHub Actions: a matrix of --only shards, the documented commands, artifacts uploaded', async () => {
    const workflow = parse(await readFile(path.join(ROOT, 'examples', 'ci', 'github-actions.yml'), 'utf8'));
    const job = workflow.jobs.package;
    assert.ok(Array.isArray(job.strategy.matrix.only) && job.strategy.matrix.only.length > 0);
    assert.equal(job.strategy['fail-fast'], false);
    assert.equal(job.env.ONLY, '${{ matrix.only }}');
    const runs: string[] = job.steps.filter((step: { run?: string }) => step.run).flatMap((step: { run: string }) => step.run.trim().split('\n'));
    assert.deepEqual(runs, await documentedCommands());
    assert.deepEqual(ndistOnly(runs), ['npx ndist list --only "$ONLY"', 'npx ndist build --only "$ONLY"']);
    const upload = job.steps.find((step: { uses?: string }) => step.uses?.startsWith('actions/upload-artifact@'));
    assert.ok(upload, 'uploads the artifacts');
    assert.equal(upload.if, 'always()', 'even when a build failed');
    for (const wanted of ['dist/*.deb', 'dist/ndist-report.json', 'dist/logs/']) assert.ok(upload.with.path.split('\n').includes(wanted), wanted);
    // ndist writes the step summary itself: the recipe must not need a step for it.
    assert.ok((await readFile(path.join(ROOT, 'examples', 'ci', 'github-actions.yml'), 'utf8')).includes('GITHUB_STEP_SUMMARY'));
  });

  test('GitLab CI: parallel matrix of --only shards, the documented commands, artifacts kept', async () => {
    const pipeline = parse(await readFile(path.join(ROOT, 'examples', 'ci', 'gitlab-ci.yml'), 'utf8'));
    const job = pipeline.package;
    assert.ok(job.parallel.matrix[0].ONLY.length > 0);
    assert.deepEqual(job.script, await documentedCommands());
    assert.equal(job.artifacts.when, 'always');
    assert.ok(job.artifacts.paths.includes('dist/*.deb'));
    assert.match(job.variables.DOCKER_HOST, /^tcp:\/\//);
  });

  test('the documented ndist commands parse with the CLI', async () => {
    const { main } = await import('../../src/commands/main.ts');
    for (const command of ndistOnly(await documentedCommands())) {
      const words = command.replace('"$ONLY"', '*').split(' ').slice(2);
      // --help after the options: commander parses them, then prints help and exits 0.
      const write = process.stdout.write;
      process.stdout.write = () => true;
      try {
        assert.equal(await main(['node', 'ndist', ...words, '--help']), 0, command);
      } finally {
        process.stdout.write = write;
      }
    }
  });
});
