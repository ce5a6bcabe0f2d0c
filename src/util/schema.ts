/**
 * JSON schemas, compiled with ajv, and the one way their errors are told to the user: the field
 * (`service.command[0]`) and what is wrong with it. A schema may give a value's rule in words with
 * the annotation `"expected"` ("an exact version like \"22.23.3\""); errors then say
 * `<value> is not <expected>` instead of ajv's pattern text.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

export function newAjv(): Ajv {
  // strictTypes and strictRequired off: a `$ref` with a `maxLength` beside it, and `required: ["type"]`
  // over a oneOf, are both intended. Unknown keywords stay errors.
  const ajv = new Ajv({ allErrors: true, verbose: true, discriminator: true, strict: true, strictTypes: false, strictRequired: false });
  ajv.addKeyword({ keyword: 'expected', schemaType: 'string' });
  return ajv;
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
