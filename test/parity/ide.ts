// Does the IDE answer? The same probes for every runtime: an HTTP GET of
// code-server's workbench page, or an SSH banner (and a real key login).
import net from 'node:net';
import { run, sleep } from './exec.ts';

export interface HttpAnswer {
  status: number;
  /** code-server's workbench page (what a browser user sees), not just any 200. */
  workbench: boolean;
}

export async function httpGet(host: string, port: number, path = '/'): Promise<HttpAnswer> {
  const ctl = new AbortController();
  const t = setTimeout(() => ctl.abort(), 10_000);
  try {
    const res = await fetch(`http://${host}:${port}${path}`, { redirect: 'follow', signal: ctl.signal });
    const body = await res.text();
    return { status: res.status, workbench: /workbench/i.test(body) && /code-server|vscode/i.test(body) };
  } finally {
    clearTimeout(t);
  }
}

/**
 * httpGet until the workbench comes, for up to WITHIN ms: both runtimes call an IDE up when its
 * port accepts (Docker's wait, the pod's TCP readiness probe), and on a busy host code-server
 * has answered 404 for a moment after that (a CI parity run, Docker side, after a reset). The
 * last attempt is the verdict: an answer that never becomes the workbench still fails the row,
 * and a last attempt that could not connect throws its own error, as one httpGet would.
 */
export async function workbenchGet(host: string, port: number, path: string, within = 15_000): Promise<HttpAnswer> {
  const end = Date.now() + within;
  for (;;) {
    const last = Date.now() >= end;
    try {
      const a = await httpGet(host, port, path);
      if (a.workbench || last) return a;
    } catch (err) {
      if (last) throw err;
    }
    await sleep(250);
  }
}

/** The first line sshd sends ("SSH-2.0-OpenSSH_…"), or '' when none within 5s. */
export function sshBanner(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    let data = '';
    const done = (v: string) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(5000, () => done(''));
    s.on('data', (d) => {
      data += d.toString('latin1');
      if (data.includes('\n')) done(data.split(/\r?\n/)[0]);
    });
    s.on('error', () => done(''));
    s.on('close', () => done(data.split(/\r?\n/)[0] ?? ''));
  });
}

/**
 * Runs a command over SSH with a key (no password, no agent, no known_hosts).
 * sshd hands the joined command to the user's login shell: pass one constant string.
 */
export async function sshRun(host: string, port: number, user: string, keyFile: string, command: string[]) {
  return run(
    'ssh',
    [
      '-F', '/dev/null',
      '-i', keyFile,
      '-p', String(port),
      '-o', 'BatchMode=yes',
      '-o', 'IdentitiesOnly=yes',
      '-o', 'PasswordAuthentication=no',
      '-o', 'StrictHostKeyChecking=no',
      '-o', 'UserKnownHostsFile=/dev/null',
      '-o', 'LogLevel=ERROR',
      '-o', 'ConnectTimeout=10',
      `${user}@${host}`,
      '--',
      ...command,
    ],
    { allowFail: true, timeoutMs: 30_000 },
  );
}

/** True when a TCP connection to host:port opens within 5s. */
export function tcpOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (v: boolean) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(5000, () => done(false));
    s.on('connect', () => done(true));
    s.on('error', () => done(false));
  });
}

/**
 * Readiness, the way the chart's probe sees it: the port accepts a connection
 * (an SSH IDE must also send its banner). Never an HTTP GET: loading the
 * workbench makes code-server write into HOME (~/.cache/Microsoft), which
 * would then show up on one runtime only.
 */
export async function ideAnswers(protocol: 'http' | 'ssh', host: string, port: number): Promise<boolean> {
  if (protocol === 'ssh') return (await sshBanner(host, port)).startsWith('SSH-');
  return tcpOpen(host, port);
}
