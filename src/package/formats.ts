/** The package formats by name: adding one is a module of formats/ and a line here. */
import type { Format, PackageFormat } from './format.ts';
import { deb } from './formats/deb.ts';
import { rpm } from './formats/rpm.ts';

export const FORMATS: Record<PackageFormat, Format> = { deb, rpm };

export function formatOf(name: PackageFormat): Format {
  return FORMATS[name];
}
