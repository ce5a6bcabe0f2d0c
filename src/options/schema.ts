/**
 * ndist.config.schema.json is the one statement of what each option may hold: its type, allowed
 * values and patterns. It checks configuration files whole, every build a package.ts adds
 * (validateBuild), and the metadata read from an app's package.json; what a schema cannot say
 * (rules across fields, paths inside the app, what git could read as an option) is in validate.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Ajv, ValidateFunction } from 'ajv';
import { PACKAGE_ROOT } from '../machine/catalogue.ts';
import { newAjv } from '../util/schema.ts';

export const SCHEMA_FILE = path.join(PACKAGE_ROOT, 'ndist.config.schema.json');

let loaded: { ajv: Ajv; id: string } | undefined;

/**
 * The validator of a part of the schema: '' the whole configuration, 'definitions/build' one
 * build's options, 'definitions/line' one line of text.
 */
export function schemaValidator(part: '' | `definitions/${string}`): ValidateFunction {
  if (!loaded) {
    const schema = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as { $id: string };
    loaded = { ajv: newAjv().addSchema(schema), id: schema.$id };
  }
  return loaded.ajv.getSchema(part ? `${loaded.id}#/${part}` : loaded.id)!;
}
