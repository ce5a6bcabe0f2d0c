/**
 * Stage: render a build machine's Handlebars shell template.
 *
 * Handlebars escapes for HTML, which is wrong for shell. Here every `{{value}}` is shell-quoted
 * instead (arrays become several quoted words), a variable the template names but the build does
 * not define is an error (strict mode), and raw insertion needs the explicit triple-stash
 * `{{{value}}}`, easy to grep for.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import { ConfigError } from '../errors.ts';
import { DEFAULT_TEMPLATES_DIR } from './catalogue.ts';

/** Parts of a build script that ndist's templates, and a project's own, can share. */
export const PARTIALS_DIR = path.join(DEFAULT_TEMPLATES_DIR, 'partials');
const INCLUDE = /^\{\{>\s*([\w-]+)\s*\}\}$/gm;

/**
 * `template` (named `templateName` in errors) with each `{{> name}}` line replaced by
 * templates/partials/<name>.sh.hbs. The parts are written in as text, not registered as Handlebars
 * partials, so their values are shell-quoted and their names checked exactly like the template's own.
 */
export function includeParts(template: string, templateName: string): string {
  return template.replace(INCLUDE, (_, name: string) => {
    const partial = path.join(PARTIALS_DIR, `${name}.sh.hbs`);
    if (!existsSync(partial)) {
      const known = readdirSync(PARTIALS_DIR).map((entry) => entry.replace(/\.sh\.hbs$/, ''));
      throw new ConfigError(`template ${templateName}`, `includes {{> ${name}}}, which is not one of ndist's parts: ${known.join(', ')}`);
    }
    return readFileSync(partial, 'utf8').replace(/\n$/, '');
  });
}

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quote one value as a single POSIX shell word. */
export function shellQuote(value: string): string {
  if (SAFE_WORD.test(value)) return value;
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Quote a value for the shell: a list becomes space-separated words, an empty list nothing. */
export function shellWords(value: unknown): string {
  if (Array.isArray(value)) return value.map((item) => shellWords(item)).join(' ');
  if (value === null || value === undefined) return "''";
  return shellQuote(String(value));
}

/**
 * Escape a value for an RPM spec: `%` starts a macro, so it is doubled; a spec value is one line.
 * A list becomes comma-separated values (as in Requires:).
 */
export function specValue(value: unknown): string {
  if (Array.isArray(value)) return value.map((item) => specValue(item)).join(', ');
  const text = value === null || value === undefined ? '' : String(value);
  if (/[\r\n]/.test(text)) throw new Error(`${JSON.stringify(text)} has a line break, which a spec value cannot hold`);
  return text.replaceAll('%', '%%');
}

export type Escape = (value: unknown) => string;

const QUOTE_HELPER = 'ndistShellQuote';
const environments = new Map<Escape, typeof Handlebars>();
/** A Handlebars environment whose `{{value}}` goes through `escape`. */
function environment(escape: Escape): typeof Handlebars {
  let handlebars = environments.get(escape);
  if (!handlebars) {
    const env = Handlebars.create();
    env.registerHelper(QUOTE_HELPER, (value: unknown, expression: unknown) => {
      if (value === undefined) throw new Error(`{{${String(expression)}}} is not defined`);
      return new env.SafeString(escape(value));
    });
    environments.set(escape, env);
    handlebars = env;
  }
  return handlebars;
}

type Node = hbs.AST.Node;

/** The expression as the template wrote it, for error messages. */
function printExpression(expression: hbs.AST.Expression): string {
  if (expression.type === 'SubExpression') {
    const sub = expression as hbs.AST.SubExpression;
    return [sub.path, ...sub.params].map((part) => printExpression(part)).join(' ');
  }
  return String((expression as hbs.AST.PathExpression).original);
}

/** Rewrite every escaped mustache `{{x ...}}` into `{{ndistShellQuote (x ...)}}` so it is shell-quoted. */
function quoteMustaches(node: Node): void {
  const visit = (child: unknown) => {
    if (child && typeof child === 'object' && 'type' in child) quoteMustaches(child as Node);
  };
  if (node.type === 'MustacheStatement') {
    const mustache = node as hbs.AST.MustacheStatement;
    if (!mustache.escaped) return;
    const inner: hbs.AST.Expression =
      mustache.params.length > 0 || (mustache.hash?.pairs.length ?? 0) > 0
        ? ({
            type: 'SubExpression',
            path: mustache.path,
            params: mustache.params,
            hash: mustache.hash,
            loc: mustache.loc,
          } as hbs.AST.SubExpression)
        : mustache.path;
    mustache.path = { type: 'PathExpression', data: false, depth: 0, parts: [QUOTE_HELPER], original: QUOTE_HELPER, loc: mustache.loc } as hbs.AST.PathExpression;
    const source = { type: 'StringLiteral', value: printExpression(inner), original: printExpression(inner), loc: mustache.loc } as hbs.AST.StringLiteral;
    mustache.params = [inner, source];
    mustache.hash = undefined as unknown as hbs.AST.Hash;
    return;
  }
  for (const value of Object.values(node)) {
    if (Array.isArray(value)) value.forEach(visit);
    else visit(value);
  }
}

const BUILTIN_HELPERS = new Set(['if', 'unless', 'each', 'with', 'lookup', 'log', QUOTE_HELPER]);

/**
 * Handlebars' strict mode does not check helper arguments (`{{#if x}}`, our quoted `{{x}}`), so
 * check every name the template reads at top level against the variables. Inside `each`/`with`
 * the context is a list item, whose fields are not known here.
 */
function findUndefinedNames(node: Node, variables: Record<string, unknown>, scoped = false, found = new Set<string>()): Set<string> {
  if (node.type === 'PathExpression') {
    const path = node as hbs.AST.PathExpression;
    const first = path.parts[0];
    if (!scoped && !path.data && path.depth === 0 && first && !BUILTIN_HELPERS.has(first) && !(first in variables)) {
      found.add(path.original);
    }
    return found;
  }
  const changesScope =
    node.type === 'BlockStatement' && ['each', 'with'].includes((node as hbs.AST.BlockStatement).path.original);
  for (const [key, value] of Object.entries(node)) {
    if (key === 'loc') continue;
    const innerScoped = scoped || (changesScope && (key === 'program' || key === 'inverse'));
    for (const child of Array.isArray(value) ? value : [value]) {
      if (child && typeof child === 'object' && 'type' in child) findUndefinedNames(child as Node, variables, innerScoped, found);
    }
  }
  return found;
}

/**
 * Render `template` (named `templateName` in errors) with `variables`; every `{{value}}` goes
 * through `escape`: shell quoting by default, `specValue` for an RPM spec.
 */
export function renderScript(template: string, variables: Record<string, unknown>, templateName: string, escape: Escape = shellWords): string {
  const handlebars = environment(escape);
  let ast: hbs.AST.Program;
  try {
    ast = handlebars.parse(includeParts(template, templateName));
  } catch (error) {
    throw new ConfigError(`template ${templateName}`, `cannot be parsed: ${(error as Error).message}`);
  }
  const missing = [...findUndefinedNames(ast, variables)];
  if (missing.length > 0) {
    throw new ConfigError(
      `template ${templateName}`,
      `uses ${missing.map((name) => `{{${name}}}`).join(', ')}, which no build variable defines (the variables are listed in the README)`,
    );
  }
  quoteMustaches(ast);
  const render = handlebars.compile(ast, { strict: true, noEscape: true });
  try {
    return render(variables);
  } catch (error) {
    const message = (error as Error).message.replace(/\n.*/s, '');
    throw new ConfigError(`template ${templateName}`, `${message} (the variables a template can use are listed in the README)`);
  }
}
