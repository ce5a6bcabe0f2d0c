/**
 * lintian on a .deb, with ndist's allow-list: the tags every ndist package carries by design, each
 * for a reason (README, "Verifying packages"). Any other error or warning fails verify.
 */

/** Tags accepted, and why. */
export const LINTIAN_ACCEPTED: Record<string, string> = {
  'dir-or-file-in-opt': 'the app and its own Node runtime live in /opt/<app> (FHS: add-on application packages), never clashing with the distro\'s nodejs',
  'embedded-library': 'the bundled node binary embeds zlib, as the Node.js project builds it',
  'unstripped-binary-or-object': 'the bundled node binary and native addons ship as built',
  'hardening-no-pie': 'the bundled node binary, as the Node.js project builds it',
  'missing-dep-for-interpreter': 'entries have a `#!/usr/bin/env node` line but /usr/bin/<app> runs them with the package\'s runtime; the package must not depend on nodejs',
  'no-changelog': 'a generated package has no Debian changelog',
  'no-manual-page': 'an app without a `man` entry in package.json has no manual page',
  'copyright-without-copyright-notice': "the copyright file names package.json's licence; the bundled licences are in /opt/<app>/share/licenses",
  'extended-description-is-empty': "the description is package.json's, one line",
  'uses-no-compression-for-control-tarball': "compression: 'none' was asked for",
  'uses-no-compression-for-data-tarball': "compression: 'none' was asked for",
};

export interface LintResult {
  /** Tag → how many times it was reported. */
  tags: Record<string, number>;
  /** Reported lines whose tag is not accepted. */
  refused: string[];
}

/** lintian's `E: pkg: tag details` / `W: …` lines, counted; informational and pedantic lines are not judged. */
export function judgeLintian(output: string): LintResult {
  const tags: Record<string, number> = {};
  const refused: string[] = [];
  for (const line of output.split('\n')) {
    const match = /^([EW]): [^:]+: (\S+)/.exec(line);
    if (!match) continue;
    const tag = match[2]!;
    tags[tag] = (tags[tag] ?? 0) + 1;
    if (!(tag in LINTIAN_ACCEPTED)) refused.push(line);
  }
  return { tags, refused };
}
