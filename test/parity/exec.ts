// Running commands for the parity suite: always an argument array (never a
// shell string built from data), and a failed command keeps its output, like
// kind's RunError, so a report says what was run and what it printed.
import { execa } from 'execa';

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export class RunError extends Error {
  constructor(
    readonly command: string[],
    readonly result: RunResult,
  ) {
    super(
      `command failed (exit ${result.exitCode}): ${command.join(' ')}\n` +
        `${result.stderr.trim() || result.stdout.trim()}`.trimEnd(),
    );
  }
}

export interface RunOptions {
  /** stdin for the command (secrets go here, never into argv). */
  input?: string;
  /** Return a non-zero exit instead of throwing. */
  allowFail?: boolean;
  timeoutMs?: number;
  env?: Record<string, string>;
  cwd?: string;
}

/** Runs cmd with args; throws RunError on a non-zero exit unless allowFail. */
export async function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await execa(cmd, args, {
    input: opts.input ?? '',
    reject: false,
    timeout: opts.timeoutMs ?? 300_000,
    env: opts.env,
    extendEnv: true,
    cwd: opts.cwd,
    stripFinalNewline: false,
  });
  const result: RunResult = {
    stdout: String(r.stdout ?? ''),
    stderr: String(r.stderr ?? ''),
    exitCode: r.exitCode ?? (r.timedOut ? 124 : 1),
  };
  if (r.timedOut) result.stderr += `\n(timed out after ${opts.timeoutMs ?? 300_000} ms)`;
  if (result.exitCode !== 0 && !opts.allowFail) throw new RunError([cmd, ...args], result);
  return result;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls fn until it returns a value (not undefined) or the deadline passes. */
export async function waitFor<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined>, everyMs = 1000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const why = last instanceof Error ? `: ${last.message}` : '';
      throw new Error(`timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${what}${why}`);
    }
    await sleep(everyMs);
  }
}

/** A one-line progress message on stderr (stdout carries the table). */
export function progress(msg: string): void {
  const t = new Date().toISOString().slice(11, 19);
  process.stderr.write(`[${t}] ${msg}\n`);
}
