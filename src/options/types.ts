/** What a package.ts describes: builds, their sources, and the machines they run on. */

export type SourceSpec =
  /** Clone a remote (or file://) repository on the host, shallow, at a branch, tag or commit. */
  | { type: 'git'; uri: string; branch?: string; tag?: string; commit?: string }
  /** A local repository checked out at `ref` (default HEAD) into a temporary work tree. */
  | { type: 'gitDirectory'; path: string; ref?: string }
  /** A plain directory, copied as it is (node_modules and .git left out). */
  | { type: 'directory'; path: string };

/** Debian's architecture names: x86-64, 64-bit ARM, 32-bit ARM hard float (ARMv7). */
export type Arch = 'amd64' | 'arm64' | 'armhf';
export type Compression = 'xz' | 'gzip' | 'zstd' | 'none';

export interface BuildOptions {
  /** Unique name of the build, used in logs and file names. */
  name: string;
  /** Package name: lowercase letters, digits, `+ - .`; also the install prefix /opt/<app> and /usr/bin/<app>. */
  app: string;
  /** Package version; defaults to the version in the app's package.json. Semver pre-releases become `~` versions. */
  version?: string;
  /** Package revision (Debian revision / RPM release). Default '1'. */
  iteration?: string;
  source: SourceSpec;
  /**
   * In a monorepo, the workspace to package, relative to the source's root, e.g. 'apps/api': a
   * directory the root declares as a workspace (package.json `workspaces`, pnpm-workspace.yaml
   * `packages`): npm or pnpm workspaces, Yarn's are refused. The package holds it, its production dependencies and the workspace packages it
   * depends on, as real directories; name, version, bin and engines come from its package.json.
   */
  workspace?: string;
  /** Id of a build machine from templates/build_machines.json. */
  buildMachine: string;
  /** Target architecture. Default: the machine's first (amd64). */
  arch?: Arch;
  /** Distro packages installed in the build machine before `npm ci`. */
  buildDeps?: string[];
  /** Distro packages the installed package depends on (Depends / Requires). */
  runtimeDeps?: string[];
  /** Exact Node.js version bundled under /opt/<app>/node, e.g. '22.23.3'. */
  node: string;
  /**
   * 'bundled' (default): Node is inside the app package under /opt/<app>/node. 'shared': Node is
   * packaged once per exact version as ndist-node-<version> (/opt/ndist/node/<version>), which the
   * app package depends on exactly.
   */
  runtime?: 'bundled' | 'shared';
  /** Exact npm version used inside the build machine. Default '10.9.9'. */
  npm?: string;
  /**
   * The package manager that installs the app, as corepack writes it: 'pnpm@10.34.9', 'yarn@1.22.22',
   * 'yarn@4.18.1' (Berry), 'npm@10.9.9', optionally with '+sha512.<hex>' of its tarball. Default:
   * package.json's packageManager, else the lockfile's manager at ndist's pinned version.
   */
  packageManager?: string;
  /** Extra arguments passed to fpm when the machine has fpm. */
  fpmArgs?: string[];
  /** Package metadata; each defaults from the app's package.json. */
  maintainer?: string;
  description?: string;
  license?: string;
  homepage?: string;
  /** Script run by /usr/bin/<app>, relative to the app root. Default: package.json `bin` (the entry named like the app, or the only one), else `main`. */
  entry?: string;
  /**
   * Commands run in the app's directory in the build machine after all its dependencies
   * (devDependencies too) are installed, e.g. ['npm run build']; only production dependencies are
   * kept afterwards. Default: ['npm run build'] when package.json has a `build` script, else none;
   * [] turns the default off.
   */
  build?: string[];
  /** Globs (relative to the app) of files to package beyond what `npm pack` would publish, e.g. ['config/**']. */
  include?: string[];
  /** Globs (relative to the app) of files left out of the package, e.g. ['docs', 'dist/*.map']. */
  exclude?: string[];
  /** Compression of the package payload. Default 'xz'. */
  compression?: Compression;
  /** Time (seconds since 1970) every file time in the package is clamped to, for reproducible builds. Default: $SOURCE_DATE_EPOCH, else the source commit's time (a directory's newest file). */
  sourceDateEpoch?: number;
  /** SPDX licence ids every bundled npm package must be under (an OR needs one of them); unset: any. */
  allowedLicenses?: string[];
  /** Check every ELF file's libraries and glibc symbol versions before packaging: fail ('error', default), 'warn' or 'off'. */
  healthCheck?: 'error' | 'warn' | 'off';
  /** What `ndist verify` runs once the package is installed on a clean host (see SmokeTest). */
  smoke?: SmokeTest;
  /** Compile native addons from source instead of downloading prebuilt binaries. Default true. */
  buildFromSource?: boolean;
  /** Run the app as a systemd service: a unit is installed, enabled and started on install, restarted on upgrade. */
  service?: ServiceOptions;
  /** System account created on install (home /var/lib/<app>); removed on deb purge when the package created it. */
  user?: string;
  /** Its primary group. Default: named like `user`. */
  group?: string;
  /** Files, config files, directories, symlinks and ghost files the package installs besides the app (see README, Contents). */
  contents?: ContentEntry[];
  /** Files under /etc, copied from the app source, that an admin may edit: conffiles / %config(noreplace). Sugar for contents entries of type 'config'. */
  configFiles?: ConfigFile[];
  /** Directories created on install with an owner (state, logs, cache); removed on deb purge. Sugar for contents entries of type 'dir'. */
  directories?: DirectorySpec[];
  /** Package relations in Debian syntax, e.g. 'mail-transport-agent' or 'old-name (<< 2.0)'. rpm: replaces becomes Obsoletes. */
  provides?: string[];
  conflicts?: string[];
  replaces?: string[];
  /** Weak and ordering relations in Debian syntax, alternatives with ` | `. rpm: Recommends, Suggests, Enhances, Requires(pre). */
  recommends?: string[];
  suggests?: string[];
  enhances?: string[];
  preDepends?: string[];
  /** deb only (rpm has no Breaks: use conflicts). */
  breaks?: string[];
  /** Version epoch (deb `epoch:version`, rpm Epoch:), to make a lower version sort newer. */
  epoch?: number;
  /** Extra control fields, named `X-…` (deb only: rpm spec files take no fields of their own). */
  fields?: Record<string, string>;
  /**
   * Written as changelog.Debian.gz and the rpm %changelog: a CHANGELOG.md of the app source (Keep a
   * Changelog or changesets), `{ from: 'git' }` (the git log between version tags) or
   * `{ from: 'auto' }` (CHANGELOG.md when the source has one, else the git log).
   */
  changelog?: string | { from: 'git' | 'auto' };
  /**
   * Write `<app>_<version>-<iteration>_<arch>.changes` beside a .deb (Debian's binary-only upload
   * description, for dput and reprepro); clearsigned when signing is on. `true`: Distribution
   * unstable. deb only. Default false.
   */
  changes?: boolean | { distribution: string };
  /** Shell scripts from the app source run in each maintainer-script phase (see README, Services). */
  hooks?: Hooks;
}

export interface ServiceOptions {
  /** Command line of ExecStart, one argument per element; the first an absolute path. Default ['/usr/bin/<app>']. */
  command?: string[];
  /** Unit Description=. Default: the package description. */
  description?: string;
  /** Account the service runs as. Default: the build's `user`, else root. */
  user?: string;
  group?: string;
  /** Variables written to /etc/default/<app> (a conffile read by the unit and the /usr/bin wrapper). */
  environment?: Record<string, string>;
  /** Default: the user's home (/var/lib/<app>) when there is a `user`, else /. */
  workingDirectory?: string;
  /** systemd Restart=. Default 'on-failure'. */
  restart?: 'no' | 'on-success' | 'on-failure' | 'on-abnormal' | 'on-abort' | 'always';
  /** systemd RestartSec= in seconds. Default 5. */
  restartSec?: number;
  /** Enable the unit on install, so it starts at boot. Default true. */
  enable?: boolean;
  /** Start the unit on install. Default true. */
  start?: boolean;
  /** Readiness of the main unit: 'simple' (default) or 'notify' (Type=notify: the app sends READY=1; a start that fails fails the install or upgrade). */
  type?: ServiceType;
  /** systemd TimeoutStartSec= of every long-running unit: how long a notify service has to report ready. Default: systemd's (90 s). */
  startTimeoutSec?: number;
  /** Socket activation of the main unit: `<app>.socket` is enabled and started instead of `<app>.service`, which starts on the first connection. */
  socket?: SocketSpec;
  /** More long-running units of the package (`<app>-<name>.service`), with the service's account, environment, restart policy and hardening. */
  units?: UnitSpec[];
  /** More units of the package, each a oneshot service run on a schedule by its own timer, with the service's user, environment and hardening. */
  timers?: TimerSpec[];
  /** Restart the running service after an upgrade. Default true; false: it keeps running the old code until the operator restarts it. */
  restartOnUpgrade?: boolean;
  /** Sandboxing; every setting defaults to on ('strict' for protectSystem, with the declared directories writable). */
  hardening?: {
    noNewPrivileges?: boolean;
    protectSystem?: 'no' | 'full' | 'strict';
    privateTmp?: boolean;
    protectHome?: boolean;
  };
}

/** One entry of `contents`; `destination` is absolute, `source` a path in the app source, modes octal strings. */
export type ContentEntry =
  /** A file copied from the app source. Owner and group default to root. */
  | { type: 'file'; source: string; destination: string; mode?: string; owner?: string; group?: string }
  /** A file under /etc an admin may edit: conffile / %config(noreplace). */
  | { type: 'config'; source: string; destination: string; mode?: string; owner?: string; group?: string }
  /** A directory created on install with its owner and mode (default 0750), removed on deb purge. */
  | { type: 'dir'; destination: string; mode?: string; owner?: string; group?: string }
  /** A symbolic link at `destination` pointing to `target`. */
  | { type: 'symlink'; destination: string; target: string }
  /** A file the package owns but does not ship (a log, a pid file): rpm %ghost; created empty on install if absent, removed on deb purge. */
  | { type: 'ghost'; destination: string; mode?: string; owner?: string; group?: string };

/** simple: started once its process runs; notify: started once it sends READY=1 over $NOTIFY_SOCKET. */
export type ServiceType = 'simple' | 'notify';

/** A `.socket` unit: ListenStream= for each entry: a port ('8080'), an address and port ('127.0.0.1:8080', '[::1]:8080') or a socket path under /run. */
export interface SocketSpec {
  listen: string[];
}

/** Another long-running unit, `<app>-<name>.service` (e.g. a worker beside the web process). */
export interface UnitSpec {
  /** Lowercase letters, digits and -, e.g. 'worker'; not a timer's name. */
  name: string;
  /** Command line of ExecStart, one argument per element; the first an absolute path. */
  command: string[];
  /** Unit Description=. Default: the service's, with the name. */
  description?: string;
  /** Default 'simple'. */
  type?: ServiceType;
  socket?: SocketSpec;
}

/** A scheduled job: `<app>-<name>.service` (Type=oneshot) started by `<app>-<name>.timer`. */
export interface TimerSpec {
  /** Lowercase letters, digits and -, e.g. 'cleanup'. */
  name: string;
  /** Command line of ExecStart, one argument per element; the first an absolute path. */
  command: string[];
  /** systemd OnCalendar=, e.g. 'daily' or '*-*-* 03:00:00'. */
  onCalendar: string;
}

export interface ConfigFile {
  /** Where it is installed: an absolute path under /etc, e.g. /etc/my-service/config.json. */
  path: string;
  /** The file in the app source it is copied from, e.g. config/default.json. */
  source: string;
  /** Octal mode as a string. Default '0644'. */
  mode?: string;
}

export interface DirectorySpec {
  /** Absolute path under /var, /srv or /etc, named for the app, e.g. /var/log/my-service. */
  path: string;
  /** Default: the build's `user`, else root. */
  owner?: string;
  /** Default: the owner's group. */
  group?: string;
  /** Octal mode as a string. Default '0750'. */
  mode?: string;
}

/** Paths of shell scripts in the app source, each run with sh and arguments `<event> [<version>]`. */
export interface Hooks {
  preinst?: string;
  postinst?: string;
  prerm?: string;
  postrm?: string;
}

export interface BuilderOptions {
  /** Where artifacts are written. Default 'dist'. */
  outDir?: string;
  /** Builds run at once. Default: the number of CPU cores. */
  concurrency?: number;
  /** Host directory for runtimes and other caches. Default ~/.cache/ndist. */
  cacheDir?: string;
  /** Project directory whose templates/build_machines.json (templates beside it, Dockerfiles in builders/) is merged over the defaults. Default: the current directory. */
  machinesDir?: string;
  /** CA bundle given to build machines (for npm, git and apt behind an intercepting proxy). Default: the host's bundle when present. */
  caBundle?: string | false;
  /** Order in which Node runtime sources are tried. Default ['npm', 'official']. */
  runtimeSources?: ('official' | 'npm')[];
  /** Sign the artifacts (debsigs / rpmsign) and SHA256SUMS (SHA256SUMS.asc). `true`: key from $NDIST_SIGNING_KEY. */
  sign?: SigningOptions | true;
  /** Also receives every line of progress and build output. When set, `progress` defaults to 'silent'. */
  log?: (build: string, line: string) => void;
  /**
   * How progress is shown on stdout: 'tree' (a live task tree), 'plain' (lines prefixed with the
   * build name, no control characters), 'silent', or 'auto' (default): 'tree' on a terminal, 'plain'
   * when stdout is not a terminal or CI=true.
   */
  progress?: 'auto' | 'tree' | 'plain' | 'silent';
  /** Stop the other builds, and start no more, when one fails. Default false. `--fail-fast` wins. */
  failFast?: boolean;
  /** Rebuild even when an earlier build with the same inputs left its artifact in outDir. Default false. `--force` wins. */
  force?: boolean;
  /**
   * The Docker engines builds run on. Each build goes to an engine that runs its architecture
   * natively, else to any (under QEMU emulation); among those, to the one with the most free slots.
   * Default: one engine, the one DOCKER_HOST, DOCKER_CONTEXT or the docker CLI's current context names.
   */
  engines?: EngineOptions[];
}

/** A Docker engine builds may run on. Give `host` or `context`, or neither for the default engine. */
export interface EngineOptions {
  /** Names the engine in logs, the report and errors. */
  name: string;
  /** `unix:///var/run/docker.sock`, `tcp://host:2376` (TLS when `tls` is given) or `ssh://user@host[:port]` (keys from ssh-agent). */
  host?: string;
  /** A docker CLI context (`docker context ls`), read from ~/.docker (or $DOCKER_CONFIG). */
  context?: string;
  /** TLS material of a `tcp://` host: PEM files. */
  tls?: { ca?: string; cert?: string; key?: string };
  /** Architectures the engine runs natively. Default: the engine's own, as it reports it. */
  arch?: Arch[];
  /** Builds it runs at once. Default: its CPUs, as it reports them (unlimited for the single default engine). */
  concurrency?: number;
}

export type BuildStatus = 'succeeded' | 'failed' | 'cancelled';

export interface BuildResult {
  name: string;
  ok: boolean;
  artifact?: string;
  size?: number;
  sha256?: string;
  /** CycloneDX SBOM written beside the artifact. */
  sbom?: { path: string; sha256: string };
  /** The .changes written beside a .deb (option `changes`). */
  changes?: { path: string; sha256: string };
  /** runtime 'shared': the runtime package written beside the artifact; reused: taken from the cache, not built. */
  runtimePackage?: { path: string; size: number; sha256: string; reused: boolean };
  durationMs: number;
  error?: Error;
  /** 'cancelled': stopped or never started because another build failed with failFast, or interrupted. */
  status: BuildStatus;
  /** The stage the build failed in. */
  stage?: string;
  /** Path of the build's full log, `outDir/logs/<build>.log`. */
  log?: string;
  /** Milliseconds spent in each stage. */
  stages?: Record<string, number>;
  /** The artifact of an earlier build with the same inputs was reused: no container was started. */
  reused?: boolean;
  /** The engine the build ran on (by its name), and whether the architecture was emulated there. */
  engine?: { name: string; emulated: boolean };
  /** The package's five largest directories, largest first: where the megabytes go. */
  largestDirectories?: PackageDirectory[];
}

/** A directory of the package (an absolute path once installed) and the bytes below it. */
export interface PackageDirectory {
  path: string;
  size: number;
}

export interface SigningOptions {
  /** Armored secret key file. Default: the key in $NDIST_SIGNING_KEY. */
  keyFile?: string;
  /** Passphrase of the key. Default: $NDIST_SIGNING_PASSPHRASE; none when unset. */
  passphrase?: string;
}

/**
 * `ndist verify`'s smoke test: a command (`['my-app', '--version']`, which must exit 0), a command
 * with the exit code and an output pattern (a regular expression) it must match, or an HTTP probe
 * of a service on the host (`{ http: 'http://127.0.0.1:8080/health' }`, answered 2xx or 3xx).
 */
export type SmokeTest = string[] | { command: string[]; exitCode?: number; output?: string } | { http: string };
