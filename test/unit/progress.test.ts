import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { BuildLogs, logFileName } from '../../src/progress/log-file.ts';
import { PlainReporter, chooseProgress, plainText } from '../../src/progress/reporter.ts';
import { scriptStage } from '../../src/progress/stages.ts';
import { markdownSummary, reportedSource, summaryTable } from '../../src/build/report.ts';
import type { BuildResult } from '../../src/options/types.ts';

describe('progress', () => {
  test('plainText removes colours, cursor moves and control characters; a carriage return keeps the last part', () => {
    assert.equal(plainText('\u001b[31mred\u001b[0m \u001b[2K\u001b[1Gdone'), 'red done');
    assert.equal(plainText('10%\r50%\r100%'), '100%');
    assert.equal(plainText('bell\u0007 and\ttab'), 'bell and\ttab');
    assert.equal(plainText('\u001b]0;title\u0007text'), 'text');
  });

  test('the plain reporter prefixes every line with the padded build name and writes no control character', () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (chunk) => (text += chunk));
    const reporter = new PlainReporter(out);
    reporter.begin(['a', 'long name']);
    reporter.started('a');
    reporter.stage('a', 'dependencies');
    reporter.line('a', '\u001b[32madded 1 package\u001b[39m');
    reporter.finished({ name: 'a', ok: false, status: 'failed', stage: 'dependencies', error: new Error('exit code 3'), durationMs: 1500 });
    assert.equal(text, 'a         | >> started\na         | >> stage dependencies\na         | added 1 package\na         | >> FAILED in stage dependencies after 1.5 s: exit code 3\n');
  });

  test('the tree is for terminals only: CI, a pipe or TERM=dumb get plain lines', () => {
    assert.equal(chooseProgress('auto', {}, true), 'tree');
    assert.equal(chooseProgress('auto', { CI: 'true' }, true), 'plain');
    assert.equal(chooseProgress('auto', { CI: 'false' }, true), 'tree');
    assert.equal(chooseProgress('auto', {}, false), 'plain');
    assert.equal(chooseProgress('auto', { TERM: 'dumb' }, true), 'plain');
    assert.equal(chooseProgress('silent', {}, true), 'silent');
  });

  test('the build script\'s section lines start the dependencies, script and package stages', () => {
    assert.equal(scriptStage('==> build dependencies'), 'dependencies');
    assert.equal(scriptStage('==> dependencies: npm ci --omit=dev'), 'dependencies');
    assert.equal(scriptStage('==> staging /opt/app'), 'script');
    assert.equal(scriptStage('==> package: dpkg-deb'), 'package');
    assert.equal(scriptStage('npm error ==> no'), undefined);
  });

  test('each build gets its own log file, with a safe and unique name', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ndist-unit-logs-'));
    try {
      assert.equal(logFileName('hello :: bookworm'), 'hello-bookworm');
      assert.equal(logFileName('../x'), 'x');
      const logs = new BuildLogs(dir);
      const first = logs.open('a b');
      const second = logs.open('a/b');
      first.write('one');
      second.write('two');
      logs.closeAll();
      assert.equal(path.basename(first.file), 'a-b.log');
      assert.equal(path.basename(second.file), 'a-b-2.log');
      assert.match(await readFile(first.file, 'utf8'), /^\[ +0\.\ds\] one\n$/);
      assert.deepEqual(second.tail(5), ['two']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('report', () => {
  const results: BuildResult[] = [
    { name: 'ok', ok: true, status: 'succeeded', artifact: '/out/ok_1.0.0-1_amd64.deb', size: 2_500_000, sha256: 'ab', durationMs: 12_300 },
    { name: 'bad | pipe', ok: false, status: 'failed', stage: 'dependencies', error: new Error('exit code 3'), durationMs: 61_000 },
  ];

  test('the summary table lists build, status, artifact, size and duration', () => {
    assert.equal(
      summaryTable(results, '/out'),
      [
        'BUILD       STATUS                 ARTIFACT              SIZE    DURATION',
        'ok          succeeded              ok_1.0.0-1_amd64.deb  2.5 MB  12.3 s',
        'bad | pipe  failed (dependencies)                                1 min 1 s',
      ].join('\n'),
    );
  });

  test('the markdown summary escapes pipes and shows the failure tail', () => {
    const markdown = markdownSummary(results, '/out', new Map([['bad | pipe', ['npm error code 3']]]));
    assert.match(markdown, /^### ndist: 1 of 2 builds succeeded$/m);
    assert.match(markdown, /^\| bad \\\| pipe \| failed \(dependencies\) \|/m);
    assert.match(markdown, /```\nnpm error code 3\n```/);
  });

  test('credentials in a git URL stay out of the report', () => {
    assert.deepEqual(reportedSource({ type: 'git', uri: 'https://user:s3cret@example.com/app.git', branch: 'main' }), { type: 'git', uri: 'https://example.com/app.git', branch: 'main' });
    assert.deepEqual(reportedSource({ type: 'directory', path: '/x' }), { type: 'directory', path: '/x' });
  });
});
