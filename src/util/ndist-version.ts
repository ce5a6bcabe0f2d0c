/** ndist's own version: shown by `ndist --version`, written in build reports, part of runtime package keys. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../machine/catalogue.ts';

let version: string | undefined;

export function ndistVersion(): string {
  version ??= (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  return version;
}
