/**
 * JSON schemas, compiled with ajv, and the one way their errors are told to the user: the field
 * (`service.command[0]`) and what is wrong with it. A schema may give a value's rule in words with
 * the annotation `"expected"` ("an exact version like \"22.23.3\""); errors then say
 * `<value> is not <expected>` instead of ajv's pattern text.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import standaloneCode from 'ajv/dist/standalone/index.js';

// strictTypes and strictRequired off: a `$ref` with a `maxLength` beside it, and `required: ["type"]`
// over a oneOf, are both intended. Unknown keywords stay errors.
const AJV_OPTIONS: Options = { allErrors: true, verbose: true, discriminator: true, strict: true, strictTypes: false, strictRequired: false };

export function newAjv(options: Options = {}): Ajv {
  const ajv = new Ajv({ ...AJV_OPTIONS, ...options });
  ajv.addKeyword({ keyword: 'expected', schemaType: 'string' });
  return ajv;
}

const require = createRequire(import.meta.url);

/**
 * The validators of `parts` of the schema in `schemaFile` ('' the whole schema, else a JSON pointer
 * into it such as 'definitions/build'). Compiling ndist's configuration schema takes most of a
 * second, more than the rest of a no-op build: ajv's standalone code for them is kept under
 * `<cacheDir>/schemas/`, named by the sha256 of the schema, the parts, ajv's version and options,
 * and loaded instead while they are unchanged. A cache that cannot be written only costs the compile.
 */
export function cachedValidators<Part extends string>(schemaFile: string, parts: readonly Part[], cacheDir: string): Record<Part, ValidateFunction> {
  const text = readFileSync(schemaFile, 'utf8');
  const { version } = require('ajv/package.json') as { version: string };
  const key = createHash('sha256').update(JSON.stringify([text, parts, version, AJV_OPTIONS])).digest('hex').slice(0, 32);
  const file = path.join(cacheDir, 'schemas', `${key}.cjs`);
  const exported = (name: string) => name || 'root';
  const load = () => {
    const compiled = require(file) as Record<string, ValidateFunction>;
    return Object.fromEntries(parts.map((part) => [part, compiled[exported(part)]])) as Record<Part, ValidateFunction>;
  };
  try {
    return load();
  } catch {
    // not compiled yet, or unreadable: compiled below
  }
  const schema = JSON.parse(text) as { $id?: string };
  const id = schema.$id ?? path.basename(schemaFile);
  const ajv = newAjv({ code: { source: true } }).addSchema(schema, id);
  const refs = Object.fromEntries(parts.map((part) => [exported(part), part ? `${id}#/${part}` : id]));
  // ajv's runtime helpers, required by the code, are named by their path here: the file lives elsewhere.
  const code = standaloneCode.default(ajv, refs).replace(/require\("(ajv\/dist\/runtime\/[\w-]+)"\)/g, (_, helper: string) => `require(${JSON.stringify(require.resolve(helper))})`);
  const partial = `${file}.${randomUUID()}.partial`;
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(partial, code);
    renameSync(partial, file);
    return load();
  } catch {
    try {
      rmSync(partial, { force: true });
    } catch {
      // its directory could not be made: there is no partial file
    }
  }
  return Object.fromEntries(parts.map((part) => [part, ajv.getSchema(refs[exported(part)]!)!])) as Record<Part, ValidateFunction>;
}

export interface SchemaProblem {
  /** Where in the data: property names and array indexes. */
  path: string[];
  message: string;
}

/** A path as it is written in code: `configFiles[0].path`. */
export function fieldName(path: readonly string[]): string {
  return path.map((part, index) => (/^\d+$/.test(part) ? `[${part}]` : index === 0 ? part : `.${part}`)).join('');
}

/** An object's known keys are listed when a wrong one is given, up to this many. */
const MAX_LISTED_KEYS = 10;

function describe(error: ErrorObject, path: string[]): SchemaProblem {
  const params = error.params as Record<string, unknown>;
  const schema = error.parentSchema as { expected?: string; properties?: Record<string, { expected?: string }>; oneOf?: { properties: Record<string, { const: string }> }[] } | undefined;
  const given = JSON.stringify(error.data);
  switch (error.keyword) {
    case 'required': {
      const missing = String(params.missingProperty);
      const expected = schema?.properties?.[missing]?.expected;
      return { path: [...path, missing], message: expected ? `is required; give ${expected}` : 'is required' };
    }
    case 'additionalProperties': {
      const known = Object.keys(schema?.properties ?? {});
      return { path: [...path, String(params.additionalProperty)], message: `is not a known option${known.length > 0 && known.length <= MAX_LISTED_KEYS ? `; known: ${known.join(', ')}` : ''}` };
    }
    case 'propertyNames': {
      const expected = (schema as { propertyNames?: { expected?: string } } | undefined)?.propertyNames?.expected;
      return { path: [...path, String(params.propertyName)], message: `is not an allowed name${expected ? `; give ${expected}` : ''}` };
    }
    case 'maxLength':
      return { path, message: `is ${(error.data as string).length} characters long; at most ${String(params.limit)}` };
    case 'enum':
      return { path, message: `is ${given}; allowed: ${(params.allowedValues as unknown[]).join(', ')}` };
    case 'discriminator': {
      const tag = String(params.tag);
      if (params.error !== 'mapping') return { path: [...path, tag], message: 'must be a string' };
      const tags = (schema?.oneOf ?? []).map((branch) => branch.properties[tag]!.const);
      return { path: [...path, tag], message: `is ${JSON.stringify(params.tagValue)}; allowed: ${tags.join(', ')}` };
    }
  }
  if (schema?.expected) return { path, message: `${given} is not ${schema.expected}` };
  return { path, message: `${error.message ?? 'is not valid'}${['type', 'pattern', 'const', 'minimum', 'format'].includes(error.keyword) ? `, got ${given}` : ''}` };
}

/**
 * What the errors of a failed validation say, one problem per field, in the order ajv found them.
 * oneOf/anyOf/if add a summary after the specific errors, and a propertyNames failure repeats the
 * name's own error: those say less and are left out.
 */
export function schemaProblems(validate: ValidateFunction): SchemaProblem[] {
  const errors = validate.errors ?? [];
  const specific = errors.filter((error) => !['oneOf', 'anyOf', 'if'].includes(error.keyword) && error.propertyName === undefined);
  const seen = new Set<string>();
  const problems: SchemaProblem[] = [];
  for (const error of specific.length > 0 ? specific : errors) {
    const path = error.instancePath.split('/').slice(1).map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'));
    const problem = describe(error, path);
    const key = `${problem.path.join('/')}\n${problem.message}`;
    if (!seen.has(key)) problems.push(problem);
    seen.add(key);
  }
  return problems;
}
