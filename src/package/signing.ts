/**
 * Optional signing of a run's artifacts on the host, with a key given by file or environment and
 * never logged: .deb files get an origin signature (debsigs), .rpm files an rpm header signature
 * (rpmsign), and SHA256SUMS a detached, armored signature (SHA256SUMS.asc). The key lives only in
 * a temporary GnuPG home, removed afterwards.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { registerCleanup } from '../cleanup.ts';
import { BuildError, ConfigError } from '../errors.ts';
import type { SigningOptions } from '../options/types.ts';

const run = promisify(execFile);

export interface Signer {
  /** Fingerprint of the signing key. */
  fingerprint: string;
  signPackage(file: string): Promise<void>;
  /** Write a detached armored signature: `<file>.asc`, or `output`. */
  signDetached(file: string, output?: string): Promise<string>;
  /** Write `file` with its signature inline, as apt's InRelease is. */
  clearSign(file: string, output: string): Promise<void>;
  /** The public key, binary (an apt keyring) or armored. */
  exportPublicKey(armor: boolean): Promise<Buffer>;
  close(): Promise<void>;
}

async function secretKey(options: SigningOptions): Promise<string> {
  if (options.keyFile) return readFile(options.keyFile, 'utf8').catch(() => {
    throw new ConfigError('sign.keyFile', `cannot read ${options.keyFile}`);
  });
  const key = process.env.NDIST_SIGNING_KEY;
  if (!key) throw new ConfigError('sign', 'give keyFile, or the armored secret key in NDIST_SIGNING_KEY');
  return key;
}

/** A tool failed: say which, without echoing arguments or input (they may hold the key). */
async function tool(command: string, args: string[], env: NodeJS.ProcessEnv, what: string): Promise<string> {
  try {
    return (await run(command, args, { env })).stdout;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const hint = code === 'ENOENT' ? ` (${command} is not installed: apt-get install ${command === 'rpmsign' ? 'rpm' : command === 'gpg' ? 'gnupg' : command})` : '';
    throw new BuildError(`signing: ${what} failed${hint}: ${String((error as { stderr?: unknown }).stderr ?? '').trim().split('\n').at(-1) ?? ''}`);
  }
}

export async function openSigner(options: SigningOptions): Promise<Signer> {
  const home = await mkdtemp(path.join(os.tmpdir(), 'ndist-gnupg-'));
  const remove = registerCleanup(() => rm(home, { recursive: true, force: true }));
  try {
    await chmod(home, 0o700);
    const env: NodeJS.ProcessEnv = { ...process.env, GNUPGHOME: home };
    delete env.NDIST_SIGNING_KEY;
    delete env.NDIST_SIGNING_PASSPHRASE;
    const passphrase = options.passphrase ?? process.env.NDIST_SIGNING_PASSPHRASE ?? '';
    // debsigs and rpmsign call gpg themselves: the passphrase reaches them through gpg.conf.
    await writeFile(path.join(home, 'passphrase'), passphrase, { mode: 0o600 });
    await writeFile(path.join(home, 'gpg.conf'), `pinentry-mode loopback\npassphrase-file ${path.join(home, 'passphrase')}\n`, { mode: 0o600 });
    const keyFile = path.join(home, 'key.asc');
    await writeFile(keyFile, await secretKey(options), { mode: 0o600 });
    await tool('gpg', ['--batch', '--quiet', '--import', keyFile], env, 'importing the key');
    await rm(keyFile);
    const listing = await tool('gpg', ['--batch', '--with-colons', '--list-secret-keys'], env, 'reading the key');
    const fingerprint = /^fpr:+([0-9A-F]{40,}):/m.exec(listing)?.[1];
    if (!fingerprint) throw new ConfigError('sign', 'the key holds no secret key');
    return {
      fingerprint,
      async signPackage(file) {
        if (file.endsWith('.deb')) await tool('debsigs', ['--sign=origin', `--default-key=${fingerprint}`, file], env, `debsigs on ${path.basename(file)}`);
        else if (file.endsWith('.rpm')) {
          // rpm's own idea of gpg's path (gpg2 on some distros) may not exist here: give it the one on PATH.
          const gpg = (await tool('sh', ['-c', 'command -v gpg'], env, 'finding gpg')).trim();
          await tool('rpmsign', ['--addsign', '--define', `__gpg ${gpg}`, '--define', `_gpg_name ${fingerprint}`, '--define', `_gpg_path ${home}`, '--define', '_gpg_sign_cmd_extra_args --pinentry-mode loopback', file], env, `rpmsign on ${path.basename(file)}`);
        }
      },
      async signDetached(file, output) {
        const signature = output ?? `${file}.asc`;
        await rm(signature, { force: true });
        await tool('gpg', ['--batch', '--yes', '--local-user', fingerprint, '--armor', '--detach-sign', '--output', signature, file], env, `signing ${path.basename(file)}`);
        return signature;
      },
      async clearSign(file, output) {
        await rm(output, { force: true });
        await tool('gpg', ['--batch', '--yes', '--local-user', fingerprint, '--clearsign', '--output', output, file], env, `signing ${path.basename(file)}`);
      },
      async exportPublicKey(armor) {
        const output = path.join(home, armor ? 'public.asc' : 'public.gpg');
        await tool('gpg', ['--batch', '--yes', ...(armor ? ['--armor'] : []), '--output', output, '--export', fingerprint], env, 'exporting the public key');
        return readFile(output);
      },
      close: remove,
    };
  } catch (error) {
    await remove();
    throw error;
  }
}
