/**
 * A static HTTP server for tests: serves a directory on 127.0.0.1 at an ephemeral port, reading
 * each file from disk on every request (so a test can swap or tamper a file between requests),
 * and logs nothing. Close it in the test's cleanup.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export interface StaticServer {
  /** http://127.0.0.1:<port>, no trailing slash. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Start serving `root`. Only GET and HEAD; a path outside `root`, a directory or a missing file is a 404. */
export async function serveDirectory(root: string): Promise<StaticServer> {
  const base = path.resolve(root);
  const server: Server = createServer((request, response) => {
    const notFound = () => response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    let urlPath: string;
    try {
      urlPath = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    } catch {
      return notFound(); // a malformed escape: no such file, and no exception in the test's process
    }
    const file = path.join(base, urlPath);
    if ((request.method !== 'GET' && request.method !== 'HEAD') || (file !== base && !file.startsWith(`${base}${path.sep}`))) return notFound();
    stat(file).then(
      (info) => {
        if (!info.isFile()) return notFound();
        // No caching headers: apt and dnf must see a swapped file on their next request.
        response.writeHead(200, { 'content-length': info.size, 'content-type': 'application/octet-stream', 'cache-control': 'no-store' });
        if (request.method === 'HEAD') return response.end();
        createReadStream(file).on('error', () => response.destroy()).pipe(response);
      },
      notFound,
    );
  });
  // Keep-alive sockets would make close() wait for the clients (apt keeps its connection open).
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
