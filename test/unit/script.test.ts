import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { ConfigError } from '../../src/errors.ts';
import { findMachine, loadMachines, type Machine } from '../../src/machine/catalogue.ts';
import { resolvePackage } from '../../src/package/metadata.ts';
import type { PackagerName } from '../../src/package/packager.ts';
import { packagerNamed } from '../../src/package/packagers.ts';
import { installedSizeCommand } from '../../src/package/packagers/dpkg-deb.ts';
import type { RuntimeArchive } from '../../src/build/runtime.ts';
import { PARTIALS_DIR, includeParts, renderScript, shellQuote, shellWords } from '../../src/machine/script.ts';
import type { BuildOptions } from '../../src/options/types.ts';

let dir: string;
/** Files an injection would create or remove. */
let marker: string;
let victim: string;

before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ndist-unit-script-'));
  marker = path.join(dir, 'pwned');
  victim = path.join(dir, 'victim');
  // A file a glob would match, so `*` expanding would show.
  writeFileSync(path.join(dir, 'glob-target'), '');
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Run `script` with /bin/sh (or `shell`) in the temp dir and return its stdout. */
function sh(script: string, shell = '/bin/sh'): string {
  return execFileSync(shell, ['-c', script], { cwd: dir, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
}

/** Run `script`, too long for an argument, from a file with /bin/sh. */
function shFile(script: string): string {
  const file = path.join(dir, 'script.sh');
  writeFileSync(file, script);
  try {
    return execFileSync('/bin/sh', [file], { cwd: dir, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  } finally {
    rmSync(file);
  }
}

/** The arguments `words` expands to in /bin/sh, one by one. */
function shArgs(words: string): string[] {
  const out = sh(`set -- ${words}\nfor arg do printf '%s\\0' "$arg"; done`);
  return out === '' ? [] : out.slice(0, -1).split('\0');
}

function hostileValues(): [string, string][] {
  return [
    ['command substitution', `$(touch ${marker})`],
    ['backticks', `\`touch ${marker}\``],
    ['single quotes', `it's a 'quoted' value''`],
    ['double quotes', `say "hello $USER" "`],
    ['newlines', `line one\nline two\n\n$(touch ${marker})\n`],
    ['command separator', `; rm -rf ${victim}; touch ${marker}`],
    ['pipes, redirections and background', `| touch ${marker} > ${marker} & touch ${marker} && x || y`],
    ['glob', '*'],
    ['variables and tilde', '$HOME ${PATH} ~ ~root $0 $@'],
    ['backslashes', 'a\\b\\\\c\\n\\'],
    ['unicode', 'héllo wörld — 日本語 🚀 \u00a0'],
    ['leading dash', '-n'],
    ['tabs and control characters', '\tx\u0001\u001b[31m'],
    ['empty string', ''],
    // One shell character each: none may be left unquoted.
    ...['$HOME', '$1', '$$', '*', '?', '[ab]', '{a,b}', '~', '#comment', '!x', 'a;b', 'a|b', 'a&b', 'a>b', 'a<b', '(x)', 'a\\b', '"', "'", '`', ' ', '\n', 'a=b c'].map(
      (value): [string, string] => [`metacharacter ${JSON.stringify(value)}`, value],
    ),
    ['very long value', `${"'$(touch x)' \"`;".repeat(5000)}end`],
  ];
}

describe('shellQuote', () => {
  test('leaves a word of safe characters as it is', () => {
    for (const value of ['hello', 'my-app_1.2.0', '/opt/app/bin/cli.js', 'user@host:path', 'a=b,c%d+e']) {
      assert.equal(shellQuote(value), value);
    }
  });

  test('single-quotes anything else and escapes single quotes', () => {
    assert.equal(shellQuote(''), "''");
    assert.equal(shellQuote('a b'), "'a b'");
    assert.equal(shellQuote("it's"), `'it'\\''s'`);
    assert.equal(shellQuote('$(id)'), "'$(id)'");
    assert.equal(shellQuote('~'), "'~'");
  });

  for (const [label, value] of hostileValues()) {
    test(`is one word that /bin/sh and bash print back exactly: ${label}`, () => {
      writeFileSync(victim, 'still here');
      const quoted = shellQuote(value);
      assert.equal(sh(`printf %s ${quoted}`), value);
      // The build scripts run with bash, which expands more (braces, $'...').
      assert.equal(sh(`printf %s ${quoted}`, 'bash'), value);
      assert.deepEqual(shArgs(quoted), [value]);
      assert.equal(existsSync(marker), false, 'the value ran a command');
      assert.equal(existsSync(victim), true, 'the value ran a command');
    });
  }
});

describe('shellWords', () => {
  test('quotes a scalar as one word', () => {
    assert.equal(shellWords('a b'), "'a b'");
    assert.equal(shellWords(42), '42');
    assert.equal(shellWords(true), 'true');
  });

  test('makes null and undefined an empty word', () => {
    assert.equal(shellWords(null), "''");
    assert.equal(shellWords(undefined), "''");
    assert.deepEqual(shArgs(shellWords(null)), ['']);
  });

  test('makes a list several words and an empty list nothing', () => {
    assert.equal(shellWords(['a', 'b c', "d'e"]), `a 'b c' 'd'\\''e'`);
    assert.equal(shellWords([]), '');
    assert.deepEqual(shArgs(shellWords([])), []);
    assert.equal(shellWords(['x', ['y z']]), "x 'y z'");
  });

  test('keeps every hostile list item one word in /bin/sh, with no side effect', () => {
    const values = hostileValues().map(([, value]) => value);
    assert.deepEqual(shArgs(shellWords(values)), values);
    assert.equal(existsSync(marker), false);
  });
});

describe('renderScript', () => {
  test('shell-quotes {{value}}', () => {
    assert.equal(renderScript('echo {{greeting}}', { greeting: "it's $(id)" }, 't.sh.hbs'), `echo 'it'\\''s $(id)'`);
    assert.equal(renderScript('cd {{dir}}', { dir: '/ndist/src' }, 't.sh.hbs'), 'cd /ndist/src');
  });

  test('does not HTML-escape', () => {
    assert.equal(renderScript('{{a}} {{{a}}}', { a: 'x<y>&"z"' }, 't.sh.hbs'), `'x<y>&"z"' x<y>&"z"`);
  });

  test('makes a list quoted words, an empty list nothing', () => {
    assert.equal(renderScript('apt-get install {{deps}}', { deps: ['libsqlite3-dev', 'b c'] }, 't.sh.hbs'), "apt-get install libsqlite3-dev 'b c'");
    assert.equal(renderScript('apt-get install {{deps}}', { deps: [] }, 't.sh.hbs'), 'apt-get install ');
  });

  test('inserts {{{value}}} raw', () => {
    assert.equal(renderScript('{{{snippet}}}', { snippet: 'echo "$HOME" && ls *' }, 't.sh.hbs'), 'echo "$HOME" && ls *');
    assert.equal(renderScript('{{{list}}}', { list: ['a', 'b c'] }, 't.sh.hbs'), 'a,b c');
  });

  test('{{#if list.length}} tells an empty list from a full one', () => {
    const template = '{{#if deps.length}}install {{deps}}{{else}}none{{/if}}';
    assert.equal(renderScript(template, { deps: [] }, 't.sh.hbs'), 'none');
    assert.equal(renderScript(template, { deps: ['a b', 'c'] }, 't.sh.hbs'), "install 'a b' c");
  });

  test('{{#if}} and {{#unless}} on booleans', () => {
    const template = '{{#if on}}yes{{/if}}{{#unless on}}no{{/unless}}';
    assert.equal(renderScript(template, { on: true }, 't.sh.hbs'), 'yes');
    assert.equal(renderScript(template, { on: false }, 't.sh.hbs'), 'no');
  });

  test('{{#each}} quotes every item, and @index, and fields of items', () => {
    assert.equal(renderScript('{{#each items}}[{{@index}}={{this}}]{{/each}}', { items: ['a b', 'c'] }, 't.sh.hbs'), "[0='a b'][1=c]");
    assert.equal(
      renderScript('{{#each files}}cp {{src}} {{dest}}\n{{/each}}', { files: [{ src: 'a b', dest: '/x' }] }, 't.sh.hbs'),
      "cp 'a b' /x\n",
    );
  });

  test('quotes the result of a helper call', () => {
    assert.equal(renderScript('{{lookup env "my key"}}', { env: { 'my key': 'v w' } }, 't.sh.hbs'), "'v w'");
  });

  test('a rendered script gives hostile values to the shell as data', () => {
    const values = hostileValues().map(([, value]) => value);
    const script = renderScript(
      `printf '%s\\0' {{one}}\n{{#each list}}printf '%s\\0' {{this}}\n{{/each}}printf '%s\\0' {{list}}`,
      { one: values[0], list: values },
      't.sh.hbs',
    );
    const printed = shFile(script).slice(0, -1).split('\0');
    assert.deepEqual(printed, [values[0], ...values, ...values]);
    assert.equal(existsSync(marker), false);
  });

  test('a variable the template names but the build does not define is a ConfigError naming it', () => {
    assert.throws(
      () => renderScript('echo {{app}} {{nope}}\n{{#if missing.length}}x{{/if}}\n{{{raw}}}', { app: 'a' }, 'my.sh.hbs'),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.field, 'template my.sh.hbs');
        assert.equal(
          error.message,
          'template my.sh.hbs: uses {{nope}}, {{missing.length}}, {{raw}}, which no build variable defines (the variables are listed in the README)',
        );
        return true;
      },
    );
  });

  test('a variable defined as undefined is a ConfigError too', () => {
    assert.throws(() => renderScript('echo {{x}}', { x: undefined }, 'my.sh.hbs'), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.field, 'template my.sh.hbs');
      assert.match(error.message, /not defined/);
      return true;
    });
  });

  test('a missing field below a defined variable is named in the error', () => {
    assert.throws(() => renderScript('echo {{build.nope}}', { build: {} }, 'my.sh.hbs'), /build\.nope/);
  });

  test('a syntax error is a ConfigError naming the template', () => {
    assert.throws(() => renderScript('echo {{app}\n', { app: 'a' }, 'broken.sh.hbs'), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.field, 'template broken.sh.hbs');
      assert.match(error.message, /^template broken\.sh\.hbs: cannot be parsed: Parse error on line 1/);
      return true;
    });
    assert.throws(() => renderScript('{{#if a}}x', { a: 1 }, 'unclosed.sh.hbs'), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.field, 'template unclosed.sh.hbs');
      assert.match(error.message, /cannot be parsed/);
      return true;
    });
  });

  test('leaves no file behind in the working directory', () => {
    assert.deepEqual(readdirSync(dir).sort(), ['glob-target', 'victim']);
  });
});

describe('includeParts: the shared parts of the build scripts', () => {
  test('a `{{> name}}` line is replaced by templates/partials/<name>.sh.hbs, and its values are quoted like the rest', () => {
    const part = readFileSync(path.join(PARTIALS_DIR, 'npm-environment.sh.hbs'), 'utf8');
    assert.equal(includeParts('#!/bin/bash\n{{> npm-environment}}\necho end\n', 'x.sh.hbs'), `#!/bin/bash\n${part.replace(/\n$/, '')}\necho end\n`);
    const variables = { runtimeDir: '/ndist/runtime/$(touch /tmp/x)', stagingDir: '/ndist/root', prefix: '/opt/a b', npmCli: 'cli.js', npxCli: 'npx-cli.js', npmRegistry: 'https://registry.example.invalid/', npmUserConfig: '/ndist/npmrc', buildFromSource: false, caBundle: false,
      manager: 'npm', managerFrom: 'the default', managerCommand: 'npm', managerCli: '', nodeGypCli: 'node-gyp.js', managerIsYarn: false, managerIsBerry: false, managerCacheDir: '/c', berryRegistry: '' };
    const script = renderScript('{{> npm-environment}}\n', variables, 'x.sh.hbs');
    assert.match(script, /^runtime='\/ndist\/runtime\/\$\(touch \/tmp\/x\)'$/m);
    assert.match(script, /^prefix='\/opt\/a b'$/m);
  });

  test("a part the template uses reads the build's variables: a missing one is named", () => {
    assert.throws(() => renderScript('{{> npm-environment}}\n', { runtimeDir: '/r' }, 'x.sh.hbs'), (error: unknown) => error instanceof ConfigError && /uses \{\{stagingDir\}\}/.test(error.message));
  });

  test('an unknown part is refused, naming the known ones; only a line of its own is an include', () => {
    assert.throws(() => includeParts('{{> npm-enviroment}}\n', 'corp.sh.hbs'), (error: unknown) =>
      error instanceof ConfigError && /template corp\.sh\.hbs: includes \{\{> npm-enviroment\}\}, which is not one of ndist's parts: .*install-and-package.*npm-environment/.test(error.message));
    assert.equal(includeParts('echo "{{> npm-environment}}"\n', 'x'), 'echo "{{> npm-environment}}"\n');
  });
});

describe('templates/debian.sh.hbs rendered by the build plan', () => {
  const FIXTURE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/hello-app');
  // src/build/plan.ts is imported when the tests run, so that the other tests of this file do not
  // depend on everything it imports.
  let planBuild: typeof import('../../src/build/plan.ts').planBuild;
  let machine: Machine;

  const runtime: RuntimeArchive = {
    kind: 'node',
    version: '22.23.3',
    source: 'official',
    file: '/cache/runtimes/node-v22.23.3-linux-x64.tar.xz',
    root: 'node-v22.23.3-linux-x64',
    checksum: 'sha256:00',
  };
  const npm: RuntimeArchive = { kind: 'npm', version: '10.9.9', source: 'npm', file: '/cache/runtimes/npm-10.9.9.tgz', root: 'package', checksum: 'sha512-00' };

  before(async () => {
    ({ planBuild } = await import('../../src/build/plan.ts'));
    machine = findMachine(loadMachines(), 'debian-bookworm');
  });

  function buildOptions(changes: Partial<BuildOptions> = {}): BuildOptions {
    return {
      name: 'hello',
      app: 'hello-app',
      source: { type: 'directory', path: FIXTURE },
      buildMachine: 'debian-bookworm',
      node: '22.23.3',
      buildDeps: ['libsqlite3-dev', 'python3'],
      runtimeDeps: ['libsqlite3-0 (>= 3.40)'],
      ...changes,
    };
  }

  function render(packager: PackagerName, changes: Partial<BuildOptions> = {}, { caBundle = false, registry = 'https://registry.example.invalid/' } = {}) {
    const options = buildOptions(changes);
    const spec = resolvePackage(options, machine, FIXTURE);
    const plan = planBuild(options, machine, spec, {
      sourceDir: FIXTURE, sourceDateEpoch: 1700000000, runtime, npm, registry, npmToken: false, packager: packagerNamed(packager), ...(caBundle ? { caBundle: '/etc/ca.crt' } : {}),
    });
    return { script: plan.script, command: plan.packageCommand };
  }

  /** `bash -n` on the script: exit 0 means it parses. */
  function bashSyntaxCheck(script: string): void {
    const file = path.join(dir, 'rendered.sh');
    writeFileSync(file, script);
    try {
      execFileSync('bash', ['-n', file], { stdio: 'pipe' });
    } finally {
      rmSync(file);
    }
  }

  const lastLine = (script: string) => script.trimEnd().split('\n').at(-1)!;

  /** The argv bash gives the words of `line`, without running it. */
  function bashArgs(line: string): string[] {
    const out = execFileSync('bash', ['-c', `set -- ${line}\nfor arg do printf '%s\\0' "$arg"; done`], { cwd: dir, encoding: 'utf8' });
    return out.slice(0, -1).split('\0');
  }

  test('the syntax check refuses a broken script', () => {
    assert.throws(() => bashSyntaxCheck('if true; then\necho "unclosed\n'));
  });

  test('renders (a mustache in a shell comment would be read as a variable, too)', () => {
    assert.doesNotThrow(() => render('dpkg-deb'));
  });

  test('with dpkg-deb: valid bash that ends with the dpkg-deb command', () => {
    const { script, command } = render('dpkg-deb');
    bashSyntaxCheck(script);
    assert.equal(lastLine(script), 'dpkg-deb --root-owner-group -Zxz --build /ndist/root /ndist/out/hello-app_1.0.0-1_amd64.deb');
    assert.deepEqual(bashArgs(lastLine(script)), command);
    assert.ok(script.includes(`\n${installedSizeCommand('"$staging"')}\n`), 'Installed-Size is counted into the control file');
    assert.match(script, /^echo "==> package: "dpkg-deb$/m);
  });

  test('with fpm: valid bash that ends with the fpm command', () => {
    const { script, command } = render('fpm', { fpmArgs: ['--deb-priority', 'optional'] });
    bashSyntaxCheck(script);
    assert.equal(
      lastLine(script),
      "fpm -s dir -t deb -n hello-app -v 1.0.0 --iteration 1 -a amd64 -m 'ndist tests <tests@ndist.invalid>' " +
        "--description 'ndist test fixture: a CLI with a pure-JS dependency and a native addon' --license MIT " +
        "--url https://ndist.invalid/hello-app -d 'libsqlite3-0 (>= 3.40)' --deb-no-default-config-files --deb-compression xz --after-remove /ndist/scripts/restore-postrm " +
        '-p /ndist/out/hello-app_1.0.0-1_amd64.deb --deb-priority optional -C /ndist/root .',
    );
    assert.deepEqual(bashArgs(lastLine(script)), command);
    assert.doesNotMatch(script, /Installed-Size/, 'fpm writes its own control file');
  });

  test('sets the runtime, npm, registry and build dependencies', () => {
    const { script } = render('dpkg-deb');
    const lines = script.split('\n');
    for (const line of [
      'runtime=/ndist/runtime/node-v22.23.3-linux-x64',
      'staging=/ndist/root',
      'prefix=/opt/hello-app',
      'export PATH="/ndist/bin:$runtime/bin:$PATH"',
      'export npm_config_registry=https://registry.example.invalid/ npm_config_userconfig=/ndist/npmrc',
      'export npm_config_build_from_source=true',
      'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libsqlite3-dev python3',
      'mkdir -p /ndist/out',
    ]) {
      assert.ok(lines.includes(line), `the script has the line: ${line}`);
    }
    assert.doesNotMatch(script, /NODE_EXTRA_CA_CERTS/, 'no CA bundle was given');
    assert.doesNotMatch(script, /\{\{|\}\}/, 'no mustache is left');
  });

  test('without build dependencies, no apt-get; with a CA bundle, its variables; buildFromSource false, no flag', () => {
    const { script } = render('dpkg-deb', { buildDeps: [], buildFromSource: false }, { caBundle: true });
    bashSyntaxCheck(script);
    assert.doesNotMatch(script, /apt-get/);
    assert.match(script, /^echo "none"$/m);
    assert.match(script, /^export NODE_EXTRA_CA_CERTS=\/ndist\/ca\.crt /m);
    assert.doesNotMatch(script, /npm_config_build_from_source/);
  });

  test('hostile metadata and fpmArgs stay data: valid bash, the exact argv, nothing run', () => {
    const evil = `$(touch ${marker}) \`touch ${marker}\` it's "x" ; rm -rf ${victim} & |`;
    writeFileSync(victim, 'still here');
    const { script, command } = render(
      'fpm',
      { description: evil, maintainer: `O'Brien <o@example.com>; touch ${marker}`, homepage: `https://x.example/?a=1&b=$(touch ${marker})`, fpmArgs: ['--vendor', evil, '--category', "'"] },
      { registry: `https://registry.example/ $(touch ${marker})` },
    );
    bashSyntaxCheck(script);
    const argv = bashArgs(lastLine(script));
    assert.deepEqual(argv, command);
    assert.equal(argv[argv.indexOf('--description') + 1], evil);
    assert.ok(script.split('\n').includes(`export npm_config_registry=${shellQuote(`https://registry.example/ $(touch ${marker})`)} npm_config_userconfig=/ndist/npmrc`));
    assert.equal(existsSync(marker), false);
    assert.equal(existsSync(victim), true);
  });
});
