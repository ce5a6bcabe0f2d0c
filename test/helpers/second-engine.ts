/**
 * A second Docker engine on this machine, for the engines e2e test: its own dockerd with its own
 * --data-root, --exec-root, pidfile, unix socket and loopback TCP port, and its own bridge with
 * NAT to the outside (its iptables management is off, so it never touches the rules of the
 * engine everyone else uses). Everything it creates (daemon, bridge, rules, directories) is
 * removed by stop(), which also runs when the process exits.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import Docker from 'dockerode';

export interface SecondEngine {
  docker: Docker;
  socket: string;
  tcpPort: number;
  dir: string;
  /** Stop the daemon (SIGTERM: the engine stops answering); stop() still cleans up. */
  kill(): void;
  stop(): Promise<void>;
  /** The last lines of the daemon's own log, for a failing test's message. */
  logTail(): string;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

function run(command: string, args: string[]): void {
  execFileSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Run each undo step, whatever the others do. */
function undoAll(steps: Array<() => void>): void {
  for (const step of steps.splice(0).reverse()) {
    try {
      step();
    } catch {
      // already gone
    }
  }
}

export async function startSecondEngine(): Promise<SecondEngine> {
  const id = process.pid % 100_000;
  const dir = `/tmp/ndist-test-engine-${process.pid}`;
  const bridge = `ndbr${id}`;
  const subnet = `172.30.${(process.pid % 200) + 20}`;
  const undo: Array<() => void> = [];
  const onExit = () => undoAll(undo);
  process.on('exit', onExit);
  undo.push(() => process.off('exit', onExit));
  let daemon: ChildProcess | undefined;
  try {
    mkdirSync(dir, { recursive: true });
    undo.push(() => rmSync(dir, { recursive: true, force: true }));
    run('ip', ['link', 'add', bridge, 'type', 'bridge']);
    undo.push(() => run('ip', ['link', 'delete', bridge]));
    run('ip', ['addr', 'add', `${subnet}.1/24`, 'dev', bridge]);
    run('ip', ['link', 'set', bridge, 'up']);
    // Its containers reach the network as the main engine's do: forwarded and masqueraded.
    const rules: Array<[string, string[]]> = [
      ['filter', ['FORWARD', '-i', bridge, '-j', 'ACCEPT']],
      ['filter', ['FORWARD', '-o', bridge, '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT']],
      ['nat', ['POSTROUTING', '-s', `${subnet}.0/24`, '!', '-o', bridge, '-j', 'MASQUERADE']],
    ];
    for (const [table, rule] of rules) {
      run('iptables', ['-t', table, '-I', ...rule]);
      undo.push(() => run('iptables', ['-t', table, '-D', ...rule]));
    }
    const socket = `${dir}/docker.sock`;
    const tcpPort = await freePort();
    const log = openSync(`${dir}/dockerd.log`, 'a');
    daemon = spawn(
      'dockerd',
      [
        `--data-root=${dir}/data`, `--exec-root=${dir}/exec`, `--pidfile=${dir}/docker.pid`,
        `-H`, `unix://${socket}`, `-H`, `tcp://127.0.0.1:${tcpPort}`,
        `--bridge=${bridge}`, '--iptables=false', '--ip-masq=false',
      ],
      { stdio: ['ignore', log, log] },
    );
    const started = daemon;
    undo.push(() => {
      // The daemon stops its containers and its containerd; wait for it, so its directories can go.
      if (started.exitCode === null && started.signalCode === null) {
        started.kill('SIGTERM');
        execFileSync('sh', ['-c', `for i in $(seq 100); do kill -0 ${started.pid} 2>/dev/null || exit 0; sleep 0.2; done; kill -9 ${started.pid}`]);
      }
      // What a killed daemon may leave: its containerd and shims (found by its directory in their
      // command line, killed by id), and mounts under its directories.
      execFileSync('sh', ['-c', `for p in /proc/[0-9]*; do [ "\${p#/proc/}" = "$$" ] && continue; grep -qF -- "${dir}/" $p/cmdline 2>/dev/null && kill -9 \${p#/proc/} 2>/dev/null; done; true`]);
      execFileSync('sh', ['-c', `grep -o " ${dir}/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l; true`]);
    });
    const docker = new Docker({ socketPath: socket });
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        await docker.ping();
        break;
      } catch (error) {
        if (Date.now() > deadline || started.exitCode !== null) throw new Error(`the second dockerd did not start: ${String(error)}\n${readFileSync(`${dir}/dockerd.log`, 'utf8').slice(-2000)}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    return {
      docker,
      socket,
      tcpPort,
      dir,
      kill: () => started.kill('SIGTERM'),
      stop: async () => undoAll(undo),
      logTail: () => readFileSync(`${dir}/dockerd.log`, 'utf8').slice(-2000),
    };
  } catch (error) {
    undoAll(undo);
    throw error;
  }
}

/** Copy images from the main engine into another: docker save | docker load, over the Engine API. */
export async function copyImages(from: Docker, to: Docker, images: string[]): Promise<void> {
  // dockerode has getImages (GET /images/get?names=…), its types do not.
  const save = from as unknown as { getImages(options: { names: string[] }): Promise<NodeJS.ReadableStream> };
  const archive = await save.getImages({ names: images });
  const response = await to.loadImage(archive as never) as unknown as NodeJS.ReadableStream;
  let output = '';
  for await (const chunk of response) output += chunk;
  if (/"error/.test(output)) throw new Error(`docker load failed: ${output}`);
}
