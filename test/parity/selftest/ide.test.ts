// The ide row's wait for code-server's workbench (ide.ts, workbenchGet): a server that answers
// 404 for a moment after its port accepts still passes; one that never serves the workbench, or
// stops accepting, still fails the row.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { workbenchGet } from '../ide.ts';

const WORKBENCH = '<html><body class="monaco-workbench">code-server</body></html>';
let server: http.Server | undefined;

/** A loopback HTTP server: 404 for its first `misses` requests, then the workbench page (never when misses is Infinity). */
async function serve(misses: number): Promise<number> {
  let n = 0;
  server = http.createServer((_req, res) => {
    if (n++ < misses) res.writeHead(404).end('not yet');
    else res.writeHead(200, { 'content-type': 'text/html' }).end(WORKBENCH);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

afterEach(async () => {
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
});

describe('workbenchGet', () => {
  it('waits through a few 404s for the workbench page', async () => {
    const port = await serve(3);
    expect(await workbenchGet('127.0.0.1', port, '/', 5_000)).toEqual({ status: 200, workbench: true });
  });

  it('returns the last answer when the workbench never comes (the row fails on it)', async () => {
    const port = await serve(Infinity);
    expect(await workbenchGet('127.0.0.1', port, '/', 600)).toEqual({ status: 404, workbench: false });
  });

  it('throws the connection error when nothing listens to the end', async () => {
    const port = await serve(0);
    await new Promise((r) => server!.close(r));
    server = undefined;
    await expect(workbenchGet('127.0.0.1', port, '/', 600)).rejects.toThrow(/fetch failed/);
  });
});
