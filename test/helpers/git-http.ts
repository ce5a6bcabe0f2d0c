/**
 * A private git server for tests: `git http-backend` (smart HTTP) behind a Node http server that
 * requires basic auth with a given password, listening on this machine's address on the default
 * Docker bridge, the address build containers (started on that bridge) reach it at.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { bridgeHostAddress, localIpv4Addresses, type BridgeNetwork } from './bridge-address.ts';
import { docker } from './docker.ts';

export interface GitServer {
  /** http://<this machine on the bridge>:<port>, no trailing slash. */
  url: string;
  /** Requests answered, by outcome: with the right password, refused. */
  counts: { authorised: number; refused: number };
  close(): Promise<void>;
}

/** This machine as containers on the default bridge see it, whether or not the engine records the bridge's gateway. */
export async function bridgeAddress(): Promise<string> {
  const network = (await docker.getNetwork('bridge').inspect()) as BridgeNetwork;
  return bridgeHostAddress(network, localIpv4Addresses(os.networkInterfaces()));
}

/** Serves the bare repositories under `root` to whoever sends `password` (any username). */
export async function startGitServer(root: string, password: string): Promise<GitServer> {
  const counts = { authorised: 0, refused: 0 };
  const server = http.createServer((request, response) => {
    const [scheme, encoded] = (request.headers.authorization ?? '').split(' ');
    const given = scheme === 'Basic' && encoded ? Buffer.from(encoded, 'base64').toString().split(':').slice(1).join(':') : undefined;
    if (given !== password) {
      counts.refused++;
      response.writeHead(401, { 'WWW-Authenticate': 'Basic realm="private"' }).end();
      return;
    }
    counts.authorised++;
    const url = new URL(request.url ?? '/', 'http://localhost');
    const cgi = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        REQUEST_METHOD: request.method,
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: request.headers['content-type'] ?? '',
        HTTP_CONTENT_ENCODING: request.headers['content-encoding'] ?? '',
        GIT_PROTOCOL: String(request.headers['git-protocol'] ?? ''),
        REMOTE_USER: 'test',
        REMOTE_ADDR: request.socket.remoteAddress ?? '',
      },
    });
    request.pipe(cgi.stdin);
    // CGI output: headers, a blank line, the body.
    let head = Buffer.alloc(0);
    let body = false;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (body) return void response.write(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      let status = 200;
      for (const line of head.subarray(0, end).toString().split('\r\n')) {
        const [name, ...rest] = line.split(':');
        const value = rest.join(':').trim();
        if (name!.toLowerCase() === 'status') status = Number.parseInt(value, 10);
        else response.setHeader(name!, value);
      }
      response.writeHead(status);
      body = true;
      response.write(head.subarray(end + 4));
    });
    cgi.on('close', () => response.end());
  });
  const host = await bridgeAddress();
  await new Promise<void>((resolve, reject) =>
    server
      .once('error', (error) => reject(new Error(`cannot listen on ${host}, this machine's address on the Docker bridge as worked out from \`docker network inspect bridge\`: ${error.message}`, { cause: error })))
      .listen(0, host, resolve),
  );
  return {
    url: `http://${host}:${(server.address() as AddressInfo).port}`,
    counts,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
