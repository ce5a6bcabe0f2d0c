/**
 * ndist.config.schema.json is the one statement of what each option may hold: its type, allowed
 * values and patterns. It checks configuration files whole, every build a package.ts adds
 * (validateBuild), and the metadata read from an app's package.json; what a schema cannot say
 * (rules across fields, paths inside the app, what git could read as an option) is in validate.ts.
 */
import path from 'node:path';
import type { ValidateFunction } from 'ajv';
import { defaultCacheDir } from '../build/runtime.ts';
import { PACKAGE_ROOT } from '../machine/catalogue.ts';
import { cachedValidators } from '../util/schema.ts';

export const SCHEMA_FILE = path.join(PACKAGE_ROOT, 'ndist.config.schema.json');

/** The parts of the schema ndist checks values against on their own. */
const PARTS = ['', 'definitions/line', 'definitions/build', 'definitions/engine', 'definitions/build/properties/homepage'] as const;
export type SchemaPart = (typeof PARTS)[number];

let validators: Record<SchemaPart, ValidateFunction> | undefined;

/**
 * The validator of a part of the schema: '' the whole configuration, 'definitions/build' one
 * build's options, 'definitions/line' one line of text.
 */
export function schemaValidator(part: SchemaPart): ValidateFunction {
  validators ??= cachedValidators(SCHEMA_FILE, PARTS, defaultCacheDir());
  return validators[part];
}
